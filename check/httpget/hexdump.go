package httpget

import (
	"fmt"
	"io"
)

// AppendHexDump appends buf in keepalived's dump_buffer layout: 16 bytes
// per line, a decimal (not hex) offset printed with four digits, " -"
// between the two groups of eight, and the printable-ASCII column. The last
// line is padded to full width. An empty buf appends nothing.
func AppendHexDump(dst, buf []byte) []byte {
	n := len(buf)
	total := n
	if r := n % 16; r != 0 {
		total += 16 - r
	}
	for i := 0; i < total; i++ {
		if i%16 == 0 {
			dst = fmt.Appendf(dst, "%.4d ", i&0xffff)
		}
		if i < n {
			dst = fmt.Appendf(dst, "%3.2x", buf[i])
		} else {
			dst = append(dst, "   "...)
		}
		if (i+1)%8 != 0 {
			continue
		}
		if (i+1)%16 != 0 {
			dst = append(dst, " -"...)
			continue
		}
		dst = append(dst, "   "...)
		for j := i - 15; j <= i; j++ {
			switch {
			case j >= n:
				dst = append(dst, ' ')
			case buf[j] >= 0x20 && buf[j] <= 0x7e:
				dst = append(dst, buf[j])
			default:
				dst = append(dst, '.')
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// WriteHexDump writes AppendHexDump(nil, buf) to w.
func WriteHexDump(w io.Writer, buf []byte) error {
	_, err := w.Write(AppendHexDump(nil, buf))
	return err
}

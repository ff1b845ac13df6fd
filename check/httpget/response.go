package httpget

import (
	"crypto/md5"
	"hash"
	"math"
)

// bufSize is keepalived's MAX_BUFFER_LENGTH. Reads go into the free part
// of this buffer minus one byte kept for C's string terminator, so read
// sizes, and with them the -v dump layout, match the C code.
const bufSize = 4096

// Banners of genhash -v, verbatim from keepalived.
const (
	bannerHeaderHex   = "-----------------------[    HTTP Header Buffer    ]-----------------------\n"
	bannerHeaderASCII = "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\n"
	bannerBodyHex     = "-----------------------[        HTML Buffer        ]-----------------------\n"
	bannerHash        = "-----------------------[    HTML hash resulting    ]-----------------------\n"
	bannerHashFinal   = "-----------------------[ HTML hash final resulting ]-----------------------\n"
)

// respReader is the pure core of response handling: the I/O shell reads
// into free() and reports the count to commit(). It mirrors keepalived's
// http_process_response, including its digest rules and -v trace.
type respReader struct {
	buf [bufSize]byte
	n   int // bytes held in buf (req->len)

	extracted bool
	header    []byte
	status    int
	clen      uint64 // math.MaxUint64: no Content-Length
	rx        uint64 // body bytes received, past Content-Length too (kept regex bytes count again, as in keepalived)
	got       uint64 // body bytes received, each once
	md5       hash.Hash
	re        regexState

	verbose bool
	out     []byte // pending -v trace
}

func newRespReader(verbose bool) *respReader {
	return &respReader{md5: md5.New(), clen: math.MaxUint64, verbose: verbose}
}

// free is where the next read goes. It is empty when 4095 bytes arrived
// without a complete header block; keepalived then reads 0 bytes and takes
// that for end of stream.
func (r *respReader) free() []byte { return r.buf[r.n : bufSize-1] }

// bodyPart is how much of k newly received body bytes count for the
// digest, given Content-Length.
func (r *respReader) bodyPart(k uint64) uint64 {
	if r.clen == math.MaxUint64 || r.clen >= r.rx+k {
		return k
	}
	return r.clen - r.rx
}

func (r *respReader) bodyWanted() bool { return r.clen == math.MaxUint64 || r.clen > r.rx }

// complete: the header block and Content-Length body bytes are in.
func (r *respReader) complete() bool {
	return r.extracted && r.clen != math.MaxUint64 && r.got >= r.clen
}

// reset prepares r for a new exchange checking re (nil: no regex).
func (r *respReader) reset(re *Regex) {
	r.md5.Reset()
	r.n, r.extracted, r.header, r.status = 0, false, nil, 0
	r.clen, r.rx, r.got = math.MaxUint64, 0, 0
	r.re.reset(re)
}

// regexKeep runs the regex over the buffer, when there is one, and
// reports whether its bytes must stay for the next read.
func (r *respReader) regexKeep() bool {
	return r.re.re != nil && r.re.check(r.buf[:], &r.n)
}

func (r *respReader) commit(k int) {
	old := r.n
	r.n += k
	if !r.extracted {
		if r.verbose {
			r.out = append(r.out, bannerHeaderHex...)
		}
		end := FindHeaderEnd(r.buf[:r.n])
		if end < 0 {
			return
		}
		r.extracted = true
		r.status = ParseStatusCode(r.buf[:r.n])
		r.clen = ExtractContentLength(r.buf[:r.n])
		r.header = append([]byte(nil), r.buf[:end]...)
		if r.verbose {
			r.out = AppendHexDump(r.out, r.header)
			r.out = append(r.out, bannerHeaderASCII...)
			r.out = append(r.out, cString(r.header)...)
			r.out = append(r.out, '\n')
		}
		body := uint64(r.n - end)
		if body > 0 && r.bodyWanted() {
			m := r.bodyPart(body)
			r.md5.Write(r.buf[end : end+int(m)])
			if r.verbose {
				r.out = append(r.out, bannerBodyHex...)
				r.out = AppendHexDump(r.out, r.buf[end:end+int(m)])
			}
		}
		r.rx, r.got = body, body
		// The first piece matched is the whole buffer, header included.
		if body == 0 || !r.regexKeep() {
			r.n = 0
		}
		return
	}
	if r.n == 0 {
		return
	}
	if r.bodyWanted() {
		m := r.bodyPart(uint64(k))
		r.md5.Write(r.buf[old : old+int(m)])
		if r.verbose {
			r.out = AppendHexDump(r.out, r.buf[old:old+int(m)])
		}
	}
	r.rx += uint64(r.n)
	r.got += uint64(k)
	if !r.regexKeep() {
		r.n = 0
	}
}

// finish returns the digest; with dump set (clean end of stream) the -v
// trace gets the digest banners, as keepalived prints them only then.
func (r *respReader) finish(dump bool) Digest {
	var d Digest
	r.md5.Sum(d[:0])
	if dump && r.verbose {
		r.out = append(r.out, '\n')
		r.out = append(r.out, bannerHash...)
		r.out = AppendHexDump(r.out, d[:])
		r.out = append(r.out, bannerHashFinal...)
	}
	return d
}

// takeOut returns and clears the pending trace.
func (r *respReader) takeOut() []byte {
	o := r.out
	r.out = nil
	return o
}

// cString is b up to its first NUL: printf("%.*s") stops there.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

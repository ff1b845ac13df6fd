// Package httpget implements the HTTP_GET / SSL_GET health check of
// keepalived 2.2.7 and the genhash utility built on the same code.
//
// Parity with keepalived is the point of this package, including its
// quirks: the request is built from the same template, the response is
// consumed through the same 4 KiB buffer, the body digest is the MD5 of the
// raw bytes after the header block (chunked framing included, cut at
// Content-Length when one is found), and the status code is extracted with
// the same rules. A url's regex is matched as keepalived's check_regex
// matches it, piece by piece with PCRE2 partial matching (see Regex). The
// pure parts (request builder, header scanners, the
// response state machine and the hex dump) take no clock and do no I/O;
// Fetch (and Check, which adds the verdict) is the thin shell that dials,
// writes and reads.
package httpget

package config

import (
	"flag"
	"testing"

	"keepalived-go/parser"
)

var large = flag.String("large", "", "config file for BenchmarkLoadLarge (bench/parse.sh generates one)")

func BenchmarkLoadLarge(b *testing.B) {
	if *large == "" {
		b.Skip("no -large file given; run make bench-parse")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Load(*large, Options{Hostname: "bench", ConfigTest: true, Sink: func(parser.Diagnostic) {}})
	}
}

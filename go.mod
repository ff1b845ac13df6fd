module keepalived-go

go 1.26.8

require (
	github.com/alecthomas/participle/v2 v2.1.4
	github.com/cloudflare/ipvs v0.12.0
	github.com/cockroachdb/datadriven v1.0.2
	github.com/emersion/go-smtp v0.24.0
	github.com/godbus/dbus/v5 v5.2.2
	github.com/google/nftables v0.3.0
	github.com/mdlayher/genetlink v1.3.2
	github.com/mdlayher/netlink v1.8.0
	github.com/mdlayher/socket v0.5.1
	github.com/miekg/dns v1.1.62
	github.com/prometheus/client_golang v1.20.5
	github.com/sirupsen/logrus v1.10.2
	github.com/spf13/pflag v1.1.0
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	go.elara.ws/pcre v0.0.0-20230805032557-4ce849193f64
	golang.org/x/net v0.53.0
	golang.org/x/sys v0.43.0
	golang.org/x/tools v0.44.0
	modernc.org/libc v1.16.8
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/google/go-cmp v0.6.0 // indirect
	github.com/google/uuid v1.3.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/mattn/go-isatty v0.0.12 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/prometheus/client_model v0.6.1 // indirect
	github.com/prometheus/common v0.55.0 // indirect
	github.com/prometheus/procfs v0.15.1 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/mod v0.35.0 // indirect
	golang.org/x/sync v0.20.0 // indirect
	google.golang.org/protobuf v1.34.2 // indirect
	modernc.org/mathutil v1.6.0 // indirect
	modernc.org/memory v1.1.1 // indirect
)

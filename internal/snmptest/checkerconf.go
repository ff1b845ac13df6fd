package snmptest

// CheckerConf is the checker scenario of the SNMP VM tests (snmp's
// keepalived golden, and ours against keepalived in cmd/keepalived):
// virtual servers of every kind (address, fwmark, group, IPv6), MISC_CHECKs
// a file flips, a sorry server and a quorum that needs both real servers
// of the first service.
const CheckerConf = `global_defs {
	router_id kgsnmp-vm
	enable_snmp_checker
	enable_traps
	snmp_socket unix:/tmp/snmp/agentx.sock
	lvs_timeouts tcp 900 tcpfin 120 udp 300
}
virtual_server_group VSG1 {
	198.51.100.20 80
	198.51.100.30-32 8080
}
virtual_server 198.51.100.10 80 {
	delay_loop 1
	lb_algo wrr
	lb_kind DR
	protocol TCP
	persistence_timeout 300
	quorum 4
	quorum_up "/bin/true up"
	quorum_down "/bin/true down"
	sorry_server 198.51.100.99 80
	real_server 198.51.100.21 80 {
		weight 3
		MISC_CHECK {
			misc_path /bin/true
		}
	}
	real_server 198.51.100.22 80 {
		weight 1
		notify_up "/bin/true rs-up"
		notify_down "/bin/true rs-down"
		MISC_CHECK {
			misc_path "/bin/test -e /tmp/up2"
		}
	}
}
virtual_server fwmark 5 {
	delay_loop 2
	lb_algo rr
	lb_kind NAT
	real_server 198.51.100.31 0 {
		MISC_CHECK {
			misc_path /bin/true
		}
	}
}
virtual_server group VSG1 {
	delay_loop 3
	lb_algo sh
	lb_kind TUN
	protocol UDP
	real_server 198.51.100.41 80 {
		MISC_CHECK {
			misc_path /bin/true
		}
	}
}
virtual_server 2001:db8::10 443 {
	lb_algo lc
	lb_kind NAT
	protocol TCP
	real_server 2001:db8::21 443 {
		weight 2
		MISC_CHECK {
			misc_path /bin/true
		}
	}
}
`

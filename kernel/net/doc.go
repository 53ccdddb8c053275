// Package net sets up gVisor's TCP/IP stack (netstack, gvisor.dev/gvisor/pkg/tcpip)
// for the kernel: IPv4 and IPv6, ARP, TCP, UDP and ICMP; a loopback NIC for
// 127.0.0.1 and ::1; and one Ethernet NIC per network card, fed through a
// link endpoint of ours (Endpoint) from a small Link interface that the
// virtio-net driver satisfies. Host tests connect two stacks back to back
// through an in-memory Link.
//
// Addresses come from a Config: QEMU's user network defaults (guest
// 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3) or the loader options
// `--ip=ADDR/PREFIX[,GW]` and OSv's `--ip=IFACE,ADDR,NETMASK`,
// `--defaultgw=ADDR`, `--nameserver=ADDR` (ParseOptions). IPv6 addresses
// come from router advertisements (SLAAC) plus the link-local address.
//
// Only pkg/tcpip/... is imported: pkg/sentry and pkg/syserr install
// signal handlers in their init functions. Netstack's pkg/sync reaches
// runtime internals by name and is tied to the Go release it was written
// for; TestToolchain fails when the toolchain drifts from it.
package net

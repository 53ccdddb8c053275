package qemu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Network modes of Config.Net.Mode.
const (
	// NetNone: no network card; the guest has loopback only. The default
	// when no port is published.
	NetNone = "none"
	// NetUser: QEMU's user-mode network (SLIRP, no root needed). The guest
	// is 10.0.2.15/24, the host is reachable as 10.0.2.2 and QEMU's DNS
	// resolver as 10.0.2.3; published ports are forwarded with hostfwd.
	// The default when a port is published.
	NetUser = "user"
	// NetTap attaches an existing tap device (Net.Tap) for benchmarks and
	// bridges; ports cannot be published through it.
	NetTap = "tap"
)

// Port is one published port: connections to HostIP:HostPort on the host
// reach GuestPort in the guest (at 10.0.2.15).
type Port struct {
	HostIP    netip.Addr // invalid: every host interface, as docker does
	HostPort  uint16
	GuestPort uint16
	Proto     string // "tcp" or "udp"
}

// String gives the port in docker's syntax.
func (p Port) String() string {
	s := fmt.Sprintf("%d:%d/%s", p.HostPort, p.GuestPort, p.Proto)
	if p.HostIP.IsValid() {
		s = p.HostIP.String() + ":" + s
	}
	return s
}

// hostfwd is the QEMU hostfwd value: PROTO:[HOSTIP]:HOSTPORT-:GUESTPORT.
func (p Port) hostfwd() string {
	ip := ""
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return fmt.Sprintf("%s:%s:%d-:%d", p.Proto, ip, p.HostPort, p.GuestPort)
}

// ParsePublish parses one -p value in docker's syntax:
//
//	[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]
//
// where HOSTPORT and GUESTPORT may be equal-length ranges (8000-8009). The
// protocol defaults to tcp, HOSTIP to every interface. HOSTIP must be an
// IPv4 address (QEMU 7.2's hostfwd takes no IPv6 address).
func ParsePublish(s string) ([]Port, error) {
	bad := func(format string, a ...any) ([]Port, error) {
		return nil, fmt.Errorf("-p %s: %s", s, fmt.Sprintf(format, a...))
	}
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return bad("protocol %q: want tcp or udp", proto)
	}
	if strings.HasPrefix(spec, "[") {
		return bad("host address: want an IPv4 address (QEMU's hostfwd takes no IPv6 address)")
	}
	parts := strings.Split(spec, ":")
	var ip netip.Addr
	switch len(parts) {
	case 2:
	case 3:
		var err error
		if ip, err = netip.ParseAddr(parts[0]); err != nil || !ip.Is4() {
			return bad("host address %q: want an IPv4 address", parts[0])
		}
		parts = parts[1:]
	default:
		return bad("want [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]")
	}
	h0, h1, err := portRange(parts[0])
	if err != nil {
		return bad("host port %v", err)
	}
	g0, g1, err := portRange(parts[1])
	if err != nil {
		return bad("guest port %v", err)
	}
	if h1-h0 != g1-g0 {
		return bad("host and guest port ranges differ in length")
	}
	var out []Port
	for i := 0; i <= int(h1-h0); i++ {
		out = append(out, Port{HostIP: ip, HostPort: h0 + uint16(i), GuestPort: g0 + uint16(i), Proto: proto})
	}
	return out, nil
}

func portRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = port(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = port(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %q is reversed", s)
		}
	}
	return lo, hi, nil
}

func port(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q: want a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// Net is the network configuration of a VM.
type Net struct {
	// Mode is NetNone (also when empty and no Ports), NetUser (also when
	// empty with Ports) or NetTap.
	Mode string
	// Tap is the tap device's name for NetTap.
	Tap string
	// Ports are the published ports (NetUser only).
	Ports []Port
}

// ParseNetMode parses a --net value: none, user or tap=IFNAME.
func ParseNetMode(s string) (Net, error) {
	switch {
	case s == NetNone || s == NetUser:
		return Net{Mode: s}, nil
	case strings.HasPrefix(s, "tap="):
		name := strings.TrimPrefix(s, "tap=")
		if name == "" || len(name) > 15 || strings.ContainsAny(name, ",/ \t\n\x00") {
			return Net{}, fmt.Errorf("--net %s: bad interface name %q", s, name)
		}
		return Net{Mode: NetTap, Tap: name}, nil
	}
	return Net{}, fmt.Errorf("--net %s: want none, user or tap=IFNAME", s)
}

// mode resolves the default.
func (n Net) mode() string {
	if n.Mode == "" {
		if len(n.Ports) > 0 {
			return NetUser
		}
		return NetNone
	}
	return n.Mode
}

// Validate checks the combination: ports only on the user network, no
// port published twice.
func (n Net) Validate() error {
	switch n.mode() {
	case NetNone, NetTap:
		if len(n.Ports) > 0 {
			return fmt.Errorf("-p needs the user network (--net user), not --net %s", n.Mode)
		}
		if n.mode() == NetTap && n.Tap == "" {
			return errors.New("--net tap needs an interface name (tap=IFNAME)")
		}
	case NetUser:
	default:
		return fmt.Errorf("unknown network mode %q", n.Mode)
	}
	seen := map[string]bool{}
	for _, p := range n.Ports {
		k := fmt.Sprintf("%s/%d", p.Proto, p.HostPort)
		if seen[k] {
			return fmt.Errorf("host port %d/%s is published twice", p.HostPort, p.Proto)
		}
		seen[k] = true
	}
	return nil
}

// CheckPortsFree tries to bind each published host port and reports the
// first one already in use, naming it.
func (n Net) CheckPortsFree() error {
	for _, p := range n.Ports {
		ip := "0.0.0.0"
		if p.HostIP.IsValid() {
			ip = p.HostIP.String()
		}
		addr := net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
		if p.Proto == "udp" {
			c, err := net.ListenPacket("udp4", addr)
			if err != nil {
				return fmt.Errorf("host port %s/udp is not available: %v", addr, unwrapOp(err))
			}
			c.Close()
			continue
		}
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return fmt.Errorf("host port %s/tcp is not available: %v", addr, unwrapOp(err))
		}
		l.Close()
	}
	return nil
}

// unwrapOp drops net.OpError's repetition of the address.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// args returns QEMU's arguments for the network: nothing for NetNone;
// otherwise -netdev with id net0 and the virtio-net device for the
// machine (virtio-net-device on microvm with modern virtio-mmio forced,
// virtio-net-pci without legacy support and without option ROM on q35).
func (n Net) args(hypervisor string) []string {
	var netdev string
	switch n.mode() {
	case NetUser:
		netdev = "user,id=net0"
		for _, p := range n.Ports {
			netdev += ",hostfwd=" + p.hostfwd()
		}
	case NetTap:
		netdev = "tap,id=net0,ifname=" + n.Tap + ",script=no,downscript=no"
	default:
		return nil
	}
	args := []string{"-netdev", netdev}
	if hypervisor == HypervisorQ35 {
		return append(args, "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,romfile=")
	}
	return append(args, "-global", "virtio-mmio.force-legacy=off", "-device", "virtio-net-device,netdev=net0")
}

package net

import (
	"fmt"
	"net/netip"
	"strings"
)

// Config is the static configuration of the Ethernet NIC.
type Config struct {
	Addr    netip.Prefix // IPv4 address and prefix; invalid: none
	Gateway netip.Addr   // IPv4 default router; invalid: none
	DNS     []netip.Addr // name servers for /etc/resolv.conf
	// Static is true when loader options set the address (DHCP is then
	// skipped); false for the built-in defaults.
	Static bool
}

// QEMU's user network (SLIRP) hands out fixed addresses: the guest is
// 10.0.2.15/24, the host is reachable as 10.0.2.2 and its resolver as
// 10.0.2.3. OSv and Firecracker users expect the same.
var (
	QEMUGuest   = netip.MustParsePrefix("10.0.2.15/24")
	QEMUGateway = netip.MustParseAddr("10.0.2.2")
	QEMUDNS     = netip.MustParseAddr("10.0.2.3")
)

// DefaultConfig is the configuration for QEMU's user network.
func DefaultConfig() Config {
	return Config{Addr: QEMUGuest, Gateway: QEMUGateway, DNS: []netip.Addr{QEMUDNS}}
}

// ParseOptions applies network loader options to c (starting from
// DefaultConfig when c is the zero Config). It understands:
//
//	--ip=ADDR/PREFIX[,GW]        address and prefix, optional gateway
//	--ip=IFACE,ADDR,NETMASK      OSv's form (IFACE is eth0)
//	--defaultgw=ADDR             default IPv4 router
//	--nameserver=ADDR            name server (repeatable)
//
// Other options are ignored. Any network option makes the configuration
// static.
func ParseOptions(c Config, opts []string) (Config, error) {
	if !c.Addr.IsValid() && !c.Gateway.IsValid() && c.DNS == nil {
		c = DefaultConfig()
	}
	dnsSet := false
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			continue
		}
		switch k {
		case "--ip":
			p, gw, err := parseIP(v)
			if err != nil {
				return c, fmt.Errorf("%s: %w", o, err)
			}
			c.Addr, c.Static = p, true
			if gw.IsValid() {
				c.Gateway = gw
			}
		case "--defaultgw":
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() {
				return c, fmt.Errorf("%s: not an IPv4 address", o)
			}
			c.Gateway, c.Static = a, true
		case "--nameserver":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return c, fmt.Errorf("%s: not an IP address", o)
			}
			if !dnsSet {
				c.DNS, dnsSet = nil, true
			}
			c.DNS = append(c.DNS, a)
			c.Static = true
		}
	}
	if c.Gateway.IsValid() && c.Addr.IsValid() && !c.Addr.Masked().Contains(c.Gateway) {
		return c, fmt.Errorf("gateway %v is outside %v", c.Gateway, c.Addr.Masked())
	}
	return c, nil
}

func parseIP(v string) (netip.Prefix, netip.Addr, error) {
	parts := strings.Split(v, ",")
	if strings.Contains(parts[0], "/") {
		if len(parts) > 2 {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("want ADDR/PREFIX[,GW]")
		}
		p, err := netip.ParsePrefix(parts[0])
		if err != nil || !p.Addr().Is4() {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad IPv4 ADDR/PREFIX %q", parts[0])
		}
		var gw netip.Addr
		if len(parts) == 2 {
			if gw, err = netip.ParseAddr(parts[1]); err != nil || !gw.Is4() {
				return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad gateway %q", parts[1])
			}
		}
		return p, gw, nil
	}
	// OSv: IFACE,ADDR,NETMASK.
	if len(parts) != 3 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("want ADDR/PREFIX[,GW] or IFACE,ADDR,NETMASK")
	}
	a, err := netip.ParseAddr(parts[1])
	if err != nil || !a.Is4() {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad IPv4 address %q", parts[1])
	}
	m, err := netip.ParseAddr(parts[2])
	if err != nil || !m.Is4() {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad netmask %q", parts[2])
	}
	b := m.As4()
	mask := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for mask&0x80000000 != 0 {
		ones++
		mask <<= 1
	}
	if mask != 0 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("netmask %v is not contiguous", m)
	}
	return netip.PrefixFrom(a, ones), netip.Addr{}, nil
}

// ResolvConf is the text of /etc/resolv.conf for c.
func (c Config) ResolvConf() string {
	var b strings.Builder
	for _, d := range c.DNS {
		fmt.Fprintf(&b, "nameserver %v\n", d)
	}
	return b.String()
}

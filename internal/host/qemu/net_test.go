package qemu

import (
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	cases := map[string][]Port{
		"8080:80":             {{HostPort: 8080, GuestPort: 80, Proto: "tcp"}},
		"8080:80/tcp":         {{HostPort: 8080, GuestPort: 80, Proto: "tcp"}},
		"5353:53/udp":         {{HostPort: 5353, GuestPort: 53, Proto: "udp"}},
		"127.0.0.1:8080:8080": {{HostIP: lo, HostPort: 8080, GuestPort: 8080, Proto: "tcp"}},
		"127.0.0.1:9000-9001:7000-7001/udp": {
			{HostIP: lo, HostPort: 9000, GuestPort: 7000, Proto: "udp"},
			{HostIP: lo, HostPort: 9001, GuestPort: 7001, Proto: "udp"},
		},
	}
	for in, want := range cases {
		got, err := ParsePublish(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"80":                "want [HOSTIP:]HOSTPORT:GUESTPORT",
		"8080:80/sctp":      `protocol "sctp"`,
		"0:80":              "host port",
		"8080:65536":        "guest port",
		"x:80":              "host port",
		"::1:8080:80":       "want [HOSTIP:]HOSTPORT:GUESTPORT",
		"[::1]:8080:80":     "want an IPv4 address",
		"localhost:8080:80": "want an IPv4 address",
		"9000-9002:80":      "ranges differ",
		"9002-9000:80-82":   "reversed",
		"1.2.3.4:5:6:7":     "want [HOSTIP:]HOSTPORT:GUESTPORT",
	} {
		_, err := ParsePublish(in)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), "-p "+in+": ") {
			t.Errorf("ParsePublish(%q) error %v, want one containing %q", in, err, msg)
		}
	}
}

func TestParseNetMode(t *testing.T) {
	for in, want := range map[string]Net{
		"none":     {Mode: NetNone},
		"user":     {Mode: NetUser},
		"tap=tap0": {Mode: NetTap, Tap: "tap0"},
	} {
		if got, err := ParseNetMode(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseNetMode(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "bridge", "tap=", "tap=a,b", "tap=waytoolonginterfacename"} {
		if _, err := ParseNetMode(in); err == nil {
			t.Errorf("ParseNetMode(%q) accepted", in)
		}
	}
}

func TestNetArgs(t *testing.T) {
	base := Config{Accel: "tcg", MemoryMiB: 128, CPUs: 1, Kernel: "/k.elf", ControlPath: "/c"}
	netArgs := func(c Config) []string {
		t.Helper()
		args, err := c.Args()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(args, "isa-serial,chardev=gosvctl,iobase=0x2e8,irq=4")
		return args[i+1:]
	}
	if got := netArgs(base); len(got) != 0 {
		t.Fatalf("no network: %q", got)
	}
	ports := append(must(ParsePublish("8080:80")), must(ParsePublish("127.0.0.1:5353:53/udp"))...)
	c := base
	c.Net = Net{Ports: ports}
	c.ExtraArgs = []string{"-S"}
	want := []string{"-netdev", "user,id=net0,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:5353-:53",
		"-global", "virtio-mmio.force-legacy=off", "-device", "virtio-net-device,netdev=net0", "-S"}
	if got := netArgs(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("microvm -p:\n got %q\nwant %q", got, want)
	}
	c = base
	c.Hypervisor = HypervisorQ35
	c.Net = Net{Mode: NetUser}
	want = []string{"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,romfile="}
	if got := netArgs(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("q35 --net user:\n got %q\nwant %q", got, want)
	}
	c = base
	c.Net = Net{Mode: NetTap, Tap: "tap0"}
	want = []string{"-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no",
		"-global", "virtio-mmio.force-legacy=off", "-device", "virtio-net-device,netdev=net0"}
	if got := netArgs(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("tap:\n got %q\nwant %q", got, want)
	}
	c.Net.Ports = ports
	if _, err := c.Args(); err == nil || !strings.Contains(err.Error(), "-p needs the user network") {
		t.Fatalf("-p with tap: %v", err)
	}
	c.Net = Net{Mode: NetNone, Ports: ports}
	if _, err := c.Args(); err == nil {
		t.Fatal("-p with --net none accepted")
	}
	c.Net = Net{Ports: append(must(ParsePublish("8080:80")), must(ParsePublish("8080:81"))...)}
	if _, err := c.Args(); err == nil || !strings.Contains(err.Error(), "8080/tcp is published twice") {
		t.Fatalf("duplicate: %v", err)
	}
	// The same host port for tcp and udp is fine.
	c.Net = Net{Ports: append(must(ParsePublish("8080:80")), must(ParsePublish("8080:80/udp"))...)}
	if _, err := c.Args(); err != nil {
		t.Fatal(err)
	}
}

func must(p []Port, err error) []Port {
	if err != nil {
		panic(err)
	}
	return p
}

func TestCheckPortsFree(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	lo := netip.MustParseAddr("127.0.0.1")
	n := Net{Ports: []Port{{HostIP: lo, HostPort: busy, GuestPort: 80, Proto: "tcp"}}}
	err = n.CheckPortsFree()
	if want := "host port 127.0.0.1:" + l.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):] + "/tcp is not available"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("busy port: %v, want %q", err, want)
	}
	// The same number over UDP is free.
	n.Ports[0].Proto = "udp"
	if err := n.CheckPortsFree(); err != nil {
		t.Fatalf("udp: %v", err)
	}
	l.Close()
	n.Ports[0].Proto = "tcp"
	if err := n.CheckPortsFree(); err != nil {
		t.Fatalf("freed port: %v", err)
	}
}

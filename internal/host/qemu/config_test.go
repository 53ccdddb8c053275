package qemu

import (
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	tail := []string{
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
		"-chardev", "stdio,id=console,signal=off",
		"-serial", "chardev:console",
		"-chardev", "file,id=gosvctl,path=/tmp/x/control",
		"-device", "isa-serial,chardev=gosvctl,iobase=0x2e8,irq=4",
	}
	common := []string{"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"}
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{
			"microvm tcg",
			Config{Hypervisor: "qemu-microvm", Accel: "tcg", MemoryMiB: 128, CPUs: 1,
				Kernel: "/k.elf", Cmdline: "/bin/ls -la", ControlPath: "/tmp/x/control"},
			slices.Concat([]string{"-M", "microvm", "-accel", "tcg", "-cpu", "max", "-m", "128M", "-smp", "1"},
				common, []string{"-kernel", "/k.elf", "-append", "/bin/ls -la"}, tail),
		},
		{
			"microvm (default) kvm",
			Config{Accel: "kvm", MemoryMiB: 64, CPUs: 2,
				Kernel: "/k.elf", Cmdline: "hello", ControlPath: "/tmp/x/control"},
			slices.Concat([]string{"-M", "microvm", "-accel", "kvm", "-cpu", "host", "-m", "64M", "-smp", "2"},
				common, []string{"-kernel", "/k.elf", "-append", "hello"}, tail),
		},
		{
			"q35 tcg",
			Config{Hypervisor: "qemu-q35", Accel: "tcg", MemoryMiB: 1024, CPUs: 4,
				Kernel: "/k.elf", Cmdline: "a b", ControlPath: "/tmp/x/control"},
			slices.Concat([]string{"-M", "q35", "-accel", "tcg", "-cpu", "max", "-m", "1024M", "-smp", "4"},
				common, []string{"-kernel", "/k.elf", "-append", "a b"}, tail),
		},
		{
			"q35 kvm",
			Config{Hypervisor: "qemu-q35", Accel: "kvm", MemoryMiB: 256, CPUs: 255,
				Kernel: "/k.elf", Cmdline: "x", ControlPath: "/tmp/x/control"},
			slices.Concat([]string{"-M", "q35", "-accel", "kvm", "-cpu", "host", "-m", "256M", "-smp", "255"},
				common, []string{"-kernel", "/k.elf", "-append", "x"}, tail),
		},
		{
			"no cmdline, initrd, extra args",
			Config{Accel: "tcg", MemoryMiB: 128, CPUs: 1, Kernel: "/k.elf", Initrd: "/i.cpio",
				ControlPath: "/tmp/x/control", ExtraArgs: []string{"-icount", "shift=0,sleep=off"}},
			slices.Concat([]string{"-M", "microvm", "-accel", "tcg", "-cpu", "max", "-m", "128M", "-smp", "1"},
				common, []string{"-kernel", "/k.elf", "-initrd", "/i.cpio"}, tail,
				[]string{"-icount", "shift=0,sleep=off"}),
		},
	}
	for _, c := range cases {
		got, err := c.cfg.Args()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d args, want %d\n got %q\nwant %q", c.name, len(got), len(c.want), got, c.want)
		}
		for i := range min(len(got), len(c.want)) {
			if got[i] != c.want[i] {
				t.Errorf("%s: arg %d = %q, want %q", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func TestArgsEscapesControlPathCommas(t *testing.T) {
	cfg := Config{Accel: "tcg", MemoryMiB: 128, CPUs: 1, Kernel: "/a,b/k.elf", ControlPath: "/tmp/a,b/control"}
	args, err := cfg.Args()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(args, "file,id=gosvctl,path=/tmp/a,,b/control") {
		t.Errorf("control chardev path not escaped: %q", args)
	}
	// -kernel takes a plain file name: no escaping.
	if i := slices.Index(args, "-kernel"); i < 0 || args[i+1] != "/a,b/k.elf" {
		t.Errorf("-kernel argument changed: %q", args)
	}
}

func TestArgsStderrPort(t *testing.T) {
	cfg := Config{Accel: "tcg", MemoryMiB: 128, CPUs: 1, Kernel: "/k.elf", ControlPath: "/tmp/x/control", StderrPath: "/dev/fd/3"}
	got, err := cfg.Args()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(
		[]string{"-M", "microvm", "-accel", "tcg", "-cpu", "max", "-m", "128M", "-smp", "1",
			"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-kernel", "/k.elf",
			"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
			"-chardev", "stdio,id=console,signal=off",
			"-serial", "chardev:console",
			"-chardev", "file,id=gosvstderr,path=/dev/fd/3",
			"-device", "isa-serial,chardev=gosvstderr,iobase=0x2f8,irq=3",
			"-chardev", "file,id=gosvctl,path=/tmp/x/control",
			"-device", "isa-serial,chardev=gosvctl,iobase=0x2e8,irq=4"})
	if !slices.Equal(got, want) {
		t.Errorf("args\n got %q\nwant %q", got, want)
	}
	cfg.StderrPath = "/tmp/a,b/err"
	got, _ = cfg.Args()
	if !slices.Contains(got, "file,id=gosvstderr,path=/tmp/a,,b/err") {
		t.Errorf("stderr chardev path not escaped: %q", got)
	}
}

func TestArgsValidation(t *testing.T) {
	ok := Config{Accel: "tcg", MemoryMiB: 128, CPUs: 1, Kernel: "/k", ControlPath: "/c"}
	cases := []struct {
		name   string
		modify func(*Config)
		err    string
	}{
		{"unknown hypervisor", func(c *Config) { c.Hypervisor = "firecracker" },
			`unknown hypervisor "firecracker": want qemu-microvm or qemu-q35`},
		{"unresolved accel", func(c *Config) { c.Accel = "auto" }, `invalid accelerator "auto"`},
		{"empty accel", func(c *Config) { c.Accel = "" }, `invalid accelerator ""`},
		{"zero cpus", func(c *Config) { c.CPUs = 0 }, "invalid CPU count 0: want 1 to 255"},
		{"negative cpus", func(c *Config) { c.CPUs = -1 }, "invalid CPU count -1"},
		{"256 cpus", func(c *Config) { c.CPUs = 256 }, "invalid CPU count 256"},
		{"zero memory", func(c *Config) { c.MemoryMiB = 0 }, "invalid memory size 0 MiB"},
		{"too much memory", func(c *Config) { c.MemoryMiB = MaxMemoryMiB + 1 }, "invalid memory size"},
		{"no kernel", func(c *Config) { c.Kernel = "" }, "no kernel file"},
		{"no control", func(c *Config) { c.ControlPath = "" }, "no control file"},
		{"NUL in cmdline", func(c *Config) { c.Cmdline = "a\x00b" }, "NUL"},
	}
	if _, err := ok.Args(); err != nil {
		t.Fatalf("base config: %v", err)
	}
	for _, c := range cases {
		cfg := ok
		c.modify(&cfg)
		args, err := cfg.Args()
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: Args() = %q, %v; want error containing %q", c.name, args, err, c.err)
		}
	}
}

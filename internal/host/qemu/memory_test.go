package qemu

import (
	"strings"
	"testing"
)

func TestParseMemory(t *testing.T) {
	good := []struct {
		in   string
		want int
	}{
		{"64", 64},
		{"64M", 64},
		{"64m", 64},
		{"64MiB", 64},
		{"64mib", 64},
		{"64MB", 64},
		{"128M", 128},
		{"1G", 1024},
		{"1g", 1024},
		{"1GiB", 1024},
		{"1.5G", 1536},
		{"0.5G", 512},
		{"2048K", 2},
		{"1024KiB", 1},
		{"1048576B", 1},
		{"1T", 1 << 20},
		{"1TiB", 1 << 20},
		{"1024G", 1 << 20},
		{"1048576", 1 << 20},
		{" 256M ", 256},
		{"0064", 64},
	}
	for _, c := range good {
		got, err := ParseMemory(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, nil", c.in, got, err, c.want)
		}
	}

	bad := []struct{ in, why string }{
		{"", "empty"},
		{"0", "at least 1 MiB"},
		{"0M", "at least 1 MiB"},
		{"0G", "at least 1 MiB"},
		{"-64", "positive"},
		{"-1G", "positive"},
		{"512k", "whole number of MiB"},
		{"1.5M", "whole number of MiB"},
		{"1000000B", "whole number of MiB"},
		{"1048577", "larger than 1 TiB"},
		{"2T", "larger than 1 TiB"},
		{"1.1T", "larger than 1 TiB"},
		{"99999999999999999999999G", "larger than 1 TiB"},
		{"abc", "want a number"},
		{"M", "want a number"},
		{"1.G", "want a number"},
		{".5G", "want a number"},
		{"1..5G", "want a number"},
		{"1e3", "unknown unit"},
		{"64X", "unknown unit"},
		{"64 M", "unknown unit"},
		{"0x40", "unknown unit"},
		{"64MiBs", "unknown unit"},
	}
	for _, c := range bad {
		got, err := ParseMemory(c.in)
		if err == nil {
			t.Errorf("ParseMemory(%q) = %d, nil; want an error", c.in, got)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.why) || !strings.Contains(msg, `"`+c.in+`"`) || strings.Contains(msg, "\n") {
			t.Errorf("ParseMemory(%q) error %q: want one line naming the value and saying %q", c.in, msg, c.why)
		}
	}
}

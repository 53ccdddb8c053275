package qemu

import (
	"strings"
	"testing"
)

func TestDecodeExit(t *testing.T) {
	cases := []struct {
		name    string
		qemu    int
		control string
		want    int
		err     string
	}{
		{"control line wins over debug-exit", 7, "exit 42\n", 42, ""},
		{"control line with QEMU status 0", 0, "exit 0\n", 0, ""},
		{"control 255 (beyond debug-exit's 7 bits)", 255, "exit 255\n", 255, ""},
		{"control line with CRLF", 1, "exit 3\r\n", 3, ""},
		{"other lines ignored", 9, "hello\nboot 12ms\nexit 5\nbye\n", 5, ""},
		{"last exit line counts", 9, "exit 1\nexit 2\n", 2, ""},
		{"control wins over QEMU status 1", 1, "exit 0\n", 0, ""},
		{"control wins over signal", -1, "exit 9\n", 9, ""},
		{"odd status decoded", 7, "", 3, ""},
		{"odd status 251 is kernel failure 125", 251, "", 125, ""},
		{"odd status 255", 255, "", 127, ""},
		{"odd status 3", 3, "", 1, ""},
		{"unterminated exit line ignored", 85, "exit 4", 42, ""},
		{"unrelated control data", 9, "hello\n", 4, ""},
		{"status 0", 0, "", 0, "the VM stopped without reporting an exit status (QEMU exit status 0)"},
		{"even status", 2, "", 0, "(QEMU exit status 2)"},
		{"QEMU failure", 1, "", 0, "QEMU failed (exit status 1)"},
		{"signal", -1, "", 0, "(QEMU exit status -1)"},
		{"unterminated only", 0, "exit 4", 0, "(QEMU exit status 0)"},
		{"exit out of range", 7, "exit 256\n", 0, `bad exit report "exit 256"`},
		{"exit negative", 7, "exit -1\n", 0, `bad exit report`},
		{"exit plus sign", 7, "exit +1\n", 0, `bad exit report`},
		{"exit empty", 7, "exit \n", 0, `bad exit report`},
		{"exit garbage", 7, "exit x\n", 0, `bad exit report`},
		{"exit trailing space", 7, "exit 1 \n", 0, `bad exit report`},
		{"exit without number is another line", 7, "exit\n", 3, ""},
		{"exiting is another line", 7, "exiting\n", 3, ""},
	}
	for _, c := range cases {
		got, err := DecodeExit(c.qemu, []byte(c.control))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: DecodeExit(%d, %q) = %d, %v; want error containing %q", c.name, c.qemu, c.control, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: DecodeExit(%d, %q) = %d, %v; want %d", c.name, c.qemu, c.control, got, err, c.want)
		}
	}
}

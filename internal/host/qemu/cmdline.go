package qemu

import "github.com/gosv/gosv/internal/cmdline"

// QuoteCmdline joins args into one kernel command line that the gosv kernel
// splits back into exactly args (see cmdline.Quote for the format).
func QuoteCmdline(args []string) string { return cmdline.Quote(args) }

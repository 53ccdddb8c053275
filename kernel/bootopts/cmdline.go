// Package bootopts parses the kernel command line: OSv-style loader options
// first, then the app's argv.
package bootopts

import (
	"fmt"
	"strings"

	"github.com/gosv/gosv/internal/cmdline"
)

// Options are the loader options (OSv's names where OSv has one).
type Options struct {
	Verbose   bool     // --verbose: print boot progress
	Bootchart bool     // --bootchart: print each boot stage's time since entry
	Selftest  bool     // --selftest: run the in-kernel test suite and exit
	Env       []string // --env=K=V (repeatable): added to the app's environment
	Cwd       string   // --cwd=DIR: the app's working directory
	Fault     string   // --fault=pf|ud|gp: trigger a kernel CPU exception (tests)
	Exit      int      // --exit=N: power off with status N instead of running an app (tests)
	ExitSet   bool
	Help      bool // --help: list loader options
	Strace    bool // --strace: log every app syscall to the console
	// Net holds the network options (--ip=, --defaultgw=, --nameserver=)
	// as given, for kernel/net.ParseOptions.
	Net []string
	// --syscall-profile: time the parts of each app syscall round trip with
	// TSC stamps and print their averages when the app exits.
	SyscallProfile bool
}

// Usage lists the loader options.
const Usage = `gosv loader options (before the app's command line):
  --verbose        print boot progress
  --bootchart      print the time of each boot stage since kernel entry
  --selftest       run the in-kernel self-test suite and power off
  --env=K=V        add K=V to the app's environment (repeatable)
  --cwd=DIR        start the app in DIR
  --exit=N         power off with status N without running an app
  --fault=KIND     trigger a kernel CPU exception: pf, ud or gp
  --strace         log every app syscall
  --ip=ADDR/PREFIX[,GW]  the first network card's IPv4 address (OSv's
                   --ip=eth0,ADDR,NETMASK works too); default 10.0.2.15/24
  --defaultgw=ADDR the IPv4 default router (default 10.0.2.2)
  --nameserver=ADDR  a DNS server for /etc/resolv.conf (repeatable;
                   default 10.0.2.3)
  --syscall-profile  print where an app syscall round trip spends its time
  --help           print this list
`

// Parse splits argv into loader options and the app's argv. Options are the
// leading words that start with "--"; a lone "--" ends them.
func Parse(words []string) (Options, []string, error) {
	var o Options
	i := 0
	for ; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			i++
			break
		}
		if !strings.HasPrefix(w, "--") {
			break
		}
		name, val, hasVal := strings.Cut(w[2:], "=")
		need := func() error {
			if !hasVal || val == "" {
				return fmt.Errorf("loader option --%s needs a value (--%s=...)", name, name)
			}
			return nil
		}
		switch name {
		case "verbose":
			o.Verbose = true
		case "bootchart":
			o.Bootchart = true
		case "selftest":
			o.Selftest = true
		case "help":
			o.Help = true
		case "strace":
			o.Strace = true
		case "syscall-profile":
			o.SyscallProfile = true
		case "env":
			if err := need(); err != nil {
				return o, nil, err
			}
			if !strings.Contains(val, "=") {
				return o, nil, fmt.Errorf("loader option --env=%s: want --env=NAME=VALUE", val)
			}
			o.Env = append(o.Env, val)
		case "cwd":
			if err := need(); err != nil {
				return o, nil, err
			}
			o.Cwd = val
		case "fault":
			if err := need(); err != nil {
				return o, nil, err
			}
			switch val {
			case "pf", "ud", "gp":
			default:
				return o, nil, fmt.Errorf("loader option --fault=%s: want pf, ud or gp", val)
			}
			o.Fault = val
		case "exit":
			if err := need(); err != nil {
				return o, nil, err
			}
			var n int
			if _, err := fmt.Sscanf(val, "%d", &n); err != nil || n < 0 || n > 255 || fmt.Sprint(n) != val {
				return o, nil, fmt.Errorf("loader option --exit=%s: want a status 0..255", val)
			}
			o.Exit, o.ExitSet = n, true
		case "ip", "defaultgw", "nameserver":
			if err := need(); err != nil {
				return o, nil, err
			}
			o.Net = append(o.Net, w)
		default:
			return o, nil, fmt.Errorf("unknown loader option %q (--help lists them)", w)
		}
	}
	return o, words[i:], nil
}

// Split splits a kernel command line into words (see package
// internal/cmdline).
func Split(s string) ([]string, error) { return cmdline.Split(s) }

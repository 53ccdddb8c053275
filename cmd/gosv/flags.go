package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/gosv/gosv/internal/host/image"
	"github.com/gosv/gosv/internal/host/qemu"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// vmFlags are the flags that shape the VM (run) or its defaults (build).
type vmFlags struct {
	memory  string
	cpus    int
	publish []string
	net     string
}

func (v *vmFlags) register(f *pflag.FlagSet, what string) {
	f.StringVarP(&v.memory, "memory", "m", "", "guest memory `SIZE`"+what+": MiB, or with a unit (512M, 1G, 1.5GiB); default 128M, more for an initrd larger than 21 MiB")
	f.IntVarP(&v.cpus, "cpus", "c", 1, fmt.Sprintf("`N` virtual CPUs"+what+" (1-%d)", qemu.MaxCPUs))
	f.StringArrayVarP(&v.publish, "publish", "p", nil, "publish a guest port on the host"+what+": `[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]`, ports or equal ranges (repeatable; implies --net user)")
	f.StringVar(&v.net, "net", "", "network"+what+": `MODE` none (loopback only; the default without -p), user (QEMU's user network: guest 10.0.2.15, host 10.0.2.2, DNS 10.0.2.3; the default with -p) or tap=IFNAME")
}

// network parses -p and --net; set is false when neither was given (an
// image's recorded network then applies).
func (v *vmFlags) network(cmd *cobra.Command) (n qemu.Net, set bool, err error) {
	if !cmd.Flags().Changed("publish") && !cmd.Flags().Changed("net") {
		return qemu.Net{}, false, nil
	}
	n, err = parseNetwork(v.net, v.publish)
	if err != nil {
		return qemu.Net{}, false, usageError(cmd, "%v", err)
	}
	return n, true, nil
}

// parseNetwork turns a --net value ("" for none given) and -p values into
// a checked network configuration.
func parseNetwork(mode string, publish []string) (qemu.Net, error) {
	var n qemu.Net
	if mode != "" {
		var err error
		if n, err = qemu.ParseNetMode(mode); err != nil {
			return qemu.Net{}, err
		}
	}
	for _, p := range publish {
		ports, err := qemu.ParsePublish(p)
		if err != nil {
			return qemu.Net{}, err
		}
		n.Ports = append(n.Ports, ports...)
	}
	if err := n.Validate(); err != nil {
		return qemu.Net{}, err
	}
	return n, nil
}

// check validates the flags; mib is 0 when --memory is not set.
func (v *vmFlags) check(cmd *cobra.Command) (mib int, err error) {
	if cmd.Flags().Changed("memory") {
		if mib, err = qemu.ParseMemory(v.memory); err != nil {
			return 0, usageError(cmd, "--memory: %v", err)
		}
	}
	if v.cpus < 1 || v.cpus > qemu.MaxCPUs {
		return 0, usageError(cmd, "--cpus: invalid CPU count %d: want 1 to %d", v.cpus, qemu.MaxCPUs)
	}
	return mib, nil
}

// contentFlags are the flags that decide what goes into an image.
type contentFlags struct {
	kernel      string
	kernelArgs  []string
	env         []string
	cwd         string
	copies      []string
	manifests   []string
	noAutoFiles bool
}

func (c *contentFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.kernel, "kernel", "", "kernel ELF `FILE` to boot instead of the embedded one")
	f.StringArrayVar(&c.kernelArgs, "kernel-arg", nil, "kernel option `ARG` put first on the kernel command line (repeatable)")
	f.StringArrayVarP(&c.env, "env", "e", nil, "set `NAME=VALUE` in the program's environment; NAME alone passes the host's value, if any (repeatable)")
	f.StringVar(&c.cwd, "cwd", "", "start the program in the guest directory `DIR`")
	f.StringArrayVar(&c.copies, "copy", nil, "put a host file or directory tree into the VM: `HOST_PATH:GUEST_PATH` (repeatable)")
	f.StringArrayVar(&c.manifests, "manifest", nil, "add the files listed in the OSv-style manifest `FILE` (\"guest: host\" lines; repeatable)")
	f.BoolVar(&c.noAutoFiles, "no-auto-files", false, "do not add the Python standard library or Perl's modules for those interpreters")
}

// options turns the flags and the positional arguments (APP ARGS...) into
// image options.
func (c *contentFlags) options(cmd *cobra.Command, args []string) (image.Options, error) {
	var copies []image.Copy
	for _, s := range c.copies {
		cp, err := image.ParseCopy(s)
		if err != nil {
			return image.Options{}, usageError(cmd, "--copy %v", err)
		}
		copies = append(copies, cp)
	}
	env, err := hostEnv(c.env)
	if err != nil {
		return image.Options{}, usageError(cmd, "%v", err)
	}
	opts := image.Options{Env: env, Cwd: c.cwd, Copies: copies, Manifests: c.manifests,
		NoAutoFiles: c.noAutoFiles, KernelArgs: c.kernelArgs}
	if len(args) > 0 {
		opts.Exe, opts.Args = args[0], args[1:]
	}
	return opts, nil
}

// kernelFile returns the kernel ELF to use: --kernel, or the embedded
// kernel written to a temporary file (cleanup removes it).
func (c *contentFlags) kernelFile() (path string, cleanup func(), err error) {
	if c.kernel != "" {
		fi, err := os.Stat(c.kernel)
		if err != nil {
			return "", nil, fmt.Errorf("--kernel: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return "", nil, fmt.Errorf("--kernel: %s: not a regular file", c.kernel)
		}
		return c.kernel, func() {}, nil
	}
	return writeEmbeddedKernel()
}

// hostEnv turns --env values into NAME=VALUE entries. Like docker run, a
// value without "=" names a host environment variable: it passes the
// host's value, and nothing when the host has no such variable.
func hostEnv(vals []string) ([]string, error) {
	var env []string
	for _, v := range vals {
		name, _, hasValue := strings.Cut(v, "=")
		if name == "" {
			return nil, fmt.Errorf("--env %q: want NAME=VALUE or NAME", v)
		}
		if !hasValue {
			val, ok := os.LookupEnv(name)
			if !ok {
				continue
			}
			v = name + "=" + val
		}
		env = append(env, v)
	}
	return env, nil
}

// checkHypervisor validates --hypervisor.
func checkHypervisor(cmd *cobra.Command, h string) error {
	if !slices.Contains(qemu.Hypervisors, h) {
		return usageError(cmd, "--hypervisor: unknown hypervisor %q: want %s", h, strings.Join(qemu.Hypervisors, " or "))
	}
	return nil
}

// isTerminal tells whether w is a terminal (a seam for tests).
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// Progress display: only on a terminal, only once the build has taken
// progressDelay, at most every progressEvery.
const (
	progressDelay = 500 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// progressLine shows image.Progress on one terminal line.
type progressLine struct {
	w      io.Writer
	label  string
	start  time.Time
	last   time.Time
	shown  bool
	latest image.Progress
	now    func() time.Time
}

// newProgress returns a progress display on w, or nil when w is not a
// terminal.
func newProgress(w io.Writer, label string) *progressLine {
	if !isTerminal(w) {
		return nil
	}
	return &progressLine{w: w, label: label, start: time.Now(), now: time.Now}
}

// update is the image.Options.Progress callback.
func (p *progressLine) update(pr image.Progress) {
	p.latest = pr
	t := p.now()
	if t.Sub(p.start) < progressDelay || p.shown && t.Sub(p.last) < progressEvery && !pr.Done {
		return
	}
	p.last, p.shown = t, true
	fmt.Fprintf(p.w, "\rgosv: %s: %d/%d files, %s/%s MiB\x1b[K", p.label, pr.Files, pr.TotalFiles, mibString(pr.Bytes), mibString(pr.TotalBytes))
}

// callback returns update, or nil for no display.
func (p *progressLine) callback() func(image.Progress) {
	if p == nil {
		return nil
	}
	return p.update
}

// finish ends the display: the line is replaced by summary, or erased
// when summary is empty.
func (p *progressLine) finish(summary string) {
	if p == nil || !p.shown {
		return
	}
	if summary == "" {
		fmt.Fprint(p.w, "\r\x1b[K")
		return
	}
	fmt.Fprintf(p.w, "\rgosv: %s\x1b[K\n", summary)
}

func mibString(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

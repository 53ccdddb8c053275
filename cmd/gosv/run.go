package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gosv/gosv/internal/host/image"
	"github.com/gosv/gosv/internal/host/kernelimg"
	"github.com/gosv/gosv/internal/host/qemu"
	"github.com/spf13/cobra"
)

// Seams for tests: starting the VM, probing the host for KVM, and the
// embedded kernel.
var (
	runVM          = qemu.Run
	probeHost      = qemu.HostProbe
	embeddedKernel = kernelimg.Kernel
)

// runOptions are the flags of gosv run.
type runOptions struct {
	memory     string
	cpus       int
	hypervisor string
	accel      string
	kernel     string
	kernelArgs []string
	env        []string
	cwd        string
	copies     []string
	qemuArgs   []string
}

func newRunCmd(status *int) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] [PATH [ARGS...]]",
		Short: "Boot the gosv kernel and run the program PATH with ARGS in it",
		Long: "Boot the gosv kernel on QEMU and run the Linux x86-64 program PATH with ARGS\n" +
			"in it; exit with the program's exit status.\n\n" +
			"PATH is a host file: a path with a slash as it is, a name through $PATH. It\n" +
			"must be a statically linked x86-64 ELF executable; gosv checks it before\n" +
			"booting and exits with 127 when it does not exist, 126 when it cannot be\n" +
			"run. It goes into the VM's root filesystem as /NAME (NAME: the last element\n" +
			"of PATH), or where a --copy of the same file puts it, together with every\n" +
			"--copy file or directory tree (symbolic links inside a tree stay links).\n\n" +
			"Flags end at PATH: everything after it is passed to the program. The\n" +
			"program's stdout and stderr reach gosv's stdout and stderr; gosv exits\n" +
			"with 125 when it fails itself.\n\n" +
			"The kernel command line is the --kernel-arg values, in order, then\n" +
			"--env=NAME=VALUE for each --env, --cwd=DIR, then the program's guest path\n" +
			"and ARGS (see qemu.QuoteCmdline for the quoting).",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.run(cmd, args)
			*status = s
			return err
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.memory, "memory", "m", "128M", "guest memory `SIZE`: MiB, or with a unit (512M, 1G, 1.5GiB)")
	f.IntVarP(&o.cpus, "cpus", "c", 1, fmt.Sprintf("`N` virtual CPUs (1-%d)", qemu.MaxCPUs))
	f.StringVar(&o.hypervisor, "hypervisor", qemu.HypervisorMicrovm, "hypervisor `NAME`: "+strings.Join(qemu.Hypervisors, " or "))
	f.StringVar(&o.accel, "accel", qemu.AccelAuto, "accelerator `MODE`: auto (KVM when usable, else TCG), kvm or tcg")
	f.StringVar(&o.kernel, "kernel", "", "kernel ELF `FILE` to boot instead of the embedded one")
	f.StringArrayVar(&o.kernelArgs, "kernel-arg", nil, "kernel option `ARG` put first on the kernel command line (repeatable)")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set `NAME=VALUE` in the program's environment; NAME alone passes the host's value, if any (repeatable)")
	f.StringVar(&o.cwd, "cwd", "", "start the program in the guest directory `DIR`")
	f.StringArrayVar(&o.copies, "copy", nil, "put a host file or directory tree into the VM: `HOST_PATH:GUEST_PATH` (repeatable)")
	f.StringArrayVar(&o.qemuArgs, "qemu-arg", nil, "extra QEMU argument `ARG`, appended as is (repeatable; for benchmarks and debugging)")
	return cmd
}

// run checks the options, prepares the kernel and boots it; it returns the
// app's exit status.
func (o *runOptions) run(cmd *cobra.Command, args []string) (int, error) {
	mib, err := qemu.ParseMemory(o.memory)
	if err != nil {
		return 0, usageError(cmd, "--memory: %v", err)
	}
	if o.cpus < 1 || o.cpus > qemu.MaxCPUs {
		return 0, usageError(cmd, "--cpus: invalid CPU count %d: want 1 to %d", o.cpus, qemu.MaxCPUs)
	}
	if !slices.Contains(qemu.Hypervisors, o.hypervisor) {
		return 0, usageError(cmd, "--hypervisor: unknown hypervisor %q: want %s", o.hypervisor, strings.Join(qemu.Hypervisors, " or "))
	}
	var copies []image.Copy
	for _, c := range o.copies {
		cp, err := image.ParseCopy(c)
		if err != nil {
			return 0, usageError(cmd, "--copy %v", err)
		}
		copies = append(copies, cp)
	}
	env, err := hostEnv(o.env)
	if err != nil {
		return 0, usageError(cmd, "%v", err)
	}
	opts := image.Options{Env: env, Cwd: o.cwd, Copies: copies, KernelArgs: o.kernelArgs}
	if len(args) > 0 {
		opts.Exe, opts.Args = args[0], args[1:]
	}
	img, err := image.Build(opts)
	if err != nil {
		return 0, err
	}
	defer img.Remove()
	if cmd.Context().Err() != nil {
		return 0, errors.New("interrupted before the VM started")
	}

	kernel := o.kernel
	if kernel != "" {
		if _, err := os.Stat(kernel); err != nil {
			return 0, fmt.Errorf("--kernel: %w", err)
		}
	} else {
		path, cleanup, err := writeEmbeddedKernel()
		if err != nil {
			return 0, err
		}
		defer cleanup()
		kernel = path
	}

	accel, note, err := qemu.ChooseAccel(o.accel, probeHost())
	if err != nil {
		return 0, fmt.Errorf("--accel: %w", err)
	}
	if note != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "gosv: %s\n", note)
	}

	cfg := qemu.Config{
		Hypervisor: o.hypervisor,
		Accel:      accel,
		MemoryMiB:  mib,
		CPUs:       o.cpus,
		Kernel:     kernel,
		Initrd:     img.Initrd,
		Cmdline:    qemu.QuoteCmdline(img.Cmdline),
		ExtraArgs:  o.qemuArgs,
	}
	status, err := runVM(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if err != nil && cmd.Context().Err() != nil {
		return 0, errors.New("interrupted: the VM was stopped")
	}
	return status, err
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

// writeEmbeddedKernel writes the embedded kernel to a temporary file and
// returns its path and a function that removes it.
func writeEmbeddedKernel() (path string, cleanup func(), err error) {
	data, err := embeddedKernel()
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp("", "gosv-kernel-*.elf")
	if err != nil {
		return "", nil, fmt.Errorf("writing the embedded kernel: %w", err)
	}
	cleanup = func() { os.Remove(f.Name()) }
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("writing the embedded kernel: %w", err)
	}
	return f.Name(), cleanup, nil
}

// usageError formats an error about the command line of cmd, with a pointer
// to its help.
func usageError(cmd *cobra.Command, format string, a ...any) error {
	return fmt.Errorf("%s (see '%s --help')", fmt.Sprintf(format, a...), cmd.CommandPath())
}

package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

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
}

func newRunCmd(status *int) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] [APP [ARGS...]]",
		Short: "Boot the gosv kernel and run APP with ARGS in it",
		Long: "Boot the gosv kernel on QEMU and run APP with ARGS in it; exit with APP's\n" +
			"exit status (125 when gosv itself fails).\n\n" +
			"Flags end at APP: everything after it is passed to the application.\n" +
			"The kernel command line is the --kernel-arg values, in order, then APP and\n" +
			"ARGS (see qemu.QuoteCmdline for the quoting).",
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
	f.StringArrayVar(&o.kernelArgs, "kernel-arg", nil, "kernel option `ARG` put before APP on the kernel command line (repeatable)")
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
		Cmdline:    qemu.QuoteCmdline(slices.Concat(o.kernelArgs, args)),
	}
	status, err := runVM(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if err != nil && cmd.Context().Err() != nil {
		return 0, errors.New("interrupted: the VM was stopped")
	}
	return status, err
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

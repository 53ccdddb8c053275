package main

import (
	"errors"
	"fmt"
	"os"
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
	checkPorts     = qemu.Net.CheckPortsFree
	probeHost      = qemu.HostProbe
	embeddedKernel = kernelimg.Kernel
)

// runOptions are the flags of gosv run.
type runOptions struct {
	vm         vmFlags
	content    contentFlags
	hypervisor string
	accel      string
	qemuArgs   []string
}

func newRunCmd(status *int) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] [PATH [ARGS...]]\n  gosv run [flags] IMAGE [ARGS...]",
		Short: "Boot the gosv kernel and run the program PATH with ARGS in it",
		Long: "Boot the gosv kernel on QEMU and run the Linux x86-64 program PATH with ARGS\n" +
			"in it; exit with the program's exit status.\n\n" +
			"PATH is a host file: a path with a slash as it is, a name through $PATH. It\n" +
			"must be an x86-64 ELF executable; gosv checks it before booting and exits\n" +
			"with 127 when it does not exist, 126 when it cannot be run.\n\n" +
			"A static executable goes into the VM's root filesystem as /NAME (NAME: the\n" +
			"last element of PATH), or where a --copy of the same file puts it. A\n" +
			"dynamically linked one goes in at its host path, with its interpreter and\n" +
			"every shared library the host's ld.so would load for it, at their host\n" +
			"paths, symbolic links included (LD_LIBRARY_PATH is not used); argv[0] is\n" +
			"PATH when it is absolute (or found in $PATH), else the real path. A missing\n" +
			"library is refused with status 126. For python3.X and perl the standard\n" +
			"library goes in too (see 'gosv build --help'; --no-auto-files leaves it\n" +
			"out). Every --copy file or directory tree and every file of a --manifest\n" +
			"(OSv's \"guest: host\" format) is added as well.\n\n" +
			"IMAGE is an image written by 'gosv build' (a directory or tar holding\n" +
			"gosv-image.json): it boots as it is, with the image's memory and CPU count\n" +
			"unless -m or -c say otherwise; ARGS, when given, replace the app's\n" +
			"arguments; --kernel, --kernel-arg, --env and --cwd apply; --copy, --manifest\n" +
			"and --no-auto-files do not (rebuild the image).\n\n" +
			"Flags end at PATH or IMAGE: everything after it is passed to the program.\n" +
			"The program's stdout and stderr reach gosv's stdout and stderr; gosv exits\n" +
			"with 125 when it fails itself.\n\n" +
			"The kernel command line is the --kernel-arg values, in order, then\n" +
			"--env=NAME=VALUE for each --env, --cwd=DIR, then the program's guest path\n" +
			"and ARGS (see qemu.QuoteCmdline for the quoting).\n\n" +
			"Network: without -p or --net the VM has no network card (loopback only).\n" +
			"-p HOSTPORT:GUESTPORT publishes a guest port as docker run -p does, through\n" +
			"QEMU's user network (no root needed): the guest is 10.0.2.15, reaches the\n" +
			"host as 10.0.2.2 and QEMU's resolver as 10.0.2.3. Without HOSTIP the port\n" +
			"listens on every host interface; 127.0.0.1:HOSTPORT:GUESTPORT keeps it\n" +
			"local. A host port already in use is refused before boot. A server in the\n" +
			"guest bound only to 127.0.0.1 cannot be reached through -p: bind 0.0.0.0.\n" +
			"--net user gives a card without published ports; --net tap=IFNAME attaches\n" +
			"an existing tap device.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.run(cmd, args)
			*status = s
			return err
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	o.vm.register(f, "")
	f.StringVar(&o.hypervisor, "hypervisor", qemu.HypervisorMicrovm, "hypervisor `NAME`: "+strings.Join(qemu.Hypervisors, " or "))
	f.StringVar(&o.accel, "accel", qemu.AccelAuto, "accelerator `MODE`: auto (KVM when usable, else TCG), kvm or tcg")
	o.content.register(f)
	f.StringArrayVar(&o.qemuArgs, "qemu-arg", nil, "extra QEMU argument `ARG`, appended as is (repeatable; for benchmarks and debugging)")
	return cmd
}

// run checks the options, prepares the kernel and boots it; it returns the
// app's exit status.
func (o *runOptions) run(cmd *cobra.Command, args []string) (int, error) {
	mib, err := o.vm.check(cmd)
	if err != nil {
		return 0, err
	}
	if err := checkHypervisor(cmd, o.hypervisor); err != nil {
		return 0, err
	}
	netw, netSet, err := o.vm.network(cmd)
	if err != nil {
		return 0, err
	}
	if len(args) > 0 && image.IsSaved(args[0]) {
		return o.runSaved(cmd, mib, netw, netSet, args[0], args[1:])
	}
	opts, err := o.content.options(cmd, args)
	if err != nil {
		return 0, err
	}
	progress := newProgress(cmd.ErrOrStderr(), "packing")
	opts.Progress = progress.callback()
	img, err := image.Build(opts)
	progress.finish("")
	if err != nil {
		return 0, err
	}
	defer img.Remove()
	if cmd.Context().Err() != nil {
		return 0, errors.New("interrupted before the VM started")
	}
	kernel, cleanup, err := o.content.kernelFile()
	if err != nil {
		return 0, err
	}
	defer cleanup()
	if mib == 0 {
		mib = image.MemoryMiB(initrdSize(img.Initrd))
	}
	return o.boot(cmd, mib, o.vm.cpus, netw, kernel, img.Initrd, qemu.QuoteCmdline(img.Cmdline))
}

// runSaved boots the image at p; args, when any, replace its app's
// arguments.
// The image's recorded network applies unless -p or --net was given.
func (o *runOptions) runSaved(cmd *cobra.Command, mib int, netw qemu.Net, netSet bool, p string, args []string) (int, error) {
	for _, name := range []string{"copy", "manifest", "no-auto-files"} {
		if cmd.Flags().Changed(name) {
			return 0, usageError(cmd, "--%s cannot change the image %s: rebuild it with gosv build", name, p)
		}
	}
	env, err := hostEnv(o.content.env)
	if err != nil {
		return 0, usageError(cmd, "%v", err)
	}
	img, err := image.Load(p, "")
	if err != nil {
		return 0, err
	}
	defer img.Close()
	if cmd.Context().Err() != nil {
		return 0, errors.New("interrupted before the VM started")
	}

	cmdline := img.Cmdline
	var extra []string
	for _, kv := range env {
		extra = append(extra, "--env="+kv)
	}
	if o.content.cwd != "" {
		extra = append(extra, "--cwd="+o.content.cwd)
	}
	if len(o.content.kernelArgs) > 0 || len(extra) > 0 || len(args) > 0 {
		words, err := image.SplitCmdline(cmdline)
		if err != nil {
			return 0, fmt.Errorf("image %s: %w", p, err)
		}
		words, err = image.EditCmdline(words, o.content.kernelArgs, extra, args, len(args) > 0)
		if err != nil {
			return 0, fmt.Errorf("image %s: %w", p, err)
		}
		cmdline = qemu.QuoteCmdline(words)
	}

	kernel := img.Kernel
	if o.content.kernel != "" {
		k, _, err := o.content.kernelFile()
		if err != nil {
			return 0, err
		}
		kernel = k
	}
	if mib == 0 {
		if img.Meta.Memory == "" {
			mib = image.MemoryMiB(initrdSize(img.Initrd))
		} else if mib, err = qemu.ParseMemory(img.Meta.Memory); err != nil {
			return 0, fmt.Errorf("image %s: memory: %w", p, err)
		}
	}
	cpus := o.vm.cpus
	if !cmd.Flags().Changed("cpus") && img.Meta.CPUs > 0 {
		cpus = img.Meta.CPUs
	}
	if !netSet {
		if netw, err = parseNetwork(img.Meta.Net, img.Meta.Ports); err != nil {
			return 0, fmt.Errorf("image %s: %w", p, err)
		}
	}
	return o.boot(cmd, mib, cpus, netw, kernel, img.Initrd, cmdline)
}

// boot runs the VM and returns the app's exit status.
func (o *runOptions) boot(cmd *cobra.Command, mib, cpus int, netw qemu.Net, kernel, initrd, cmdline string) (int, error) {
	if err := checkPorts(netw); err != nil {
		return 0, err
	}
	accel, note, err := qemu.ChooseAccel(o.accel, probeHost())
	if err != nil {
		return 0, fmt.Errorf("--accel: %w", err)
	}
	if note != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "gosv: note: %s\n", note)
	}
	cfg := qemu.Config{
		Hypervisor: o.hypervisor,
		Accel:      accel,
		MemoryMiB:  mib,
		CPUs:       cpus,
		Kernel:     kernel,
		Initrd:     initrd,
		Cmdline:    cmdline,
		Net:        netw,
		ExtraArgs:  o.qemuArgs,
	}
	status, err := runVM(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if err != nil && cmd.Context().Err() != nil {
		return 0, errors.New("interrupted: the VM was stopped")
	}
	return status, err
}

// initrdSize is the size of the initrd file p (0 for none).
func initrdSize(p string) int64 {
	if p == "" {
		return 0
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
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

package qemu

import (
	"errors"
	"fmt"
	"github.com/gosv/gosv/internal/bootproto"
	"os"
	"strconv"
	"strings"
)

// Hypervisor names accepted in Config.Hypervisor.
const (
	// HypervisorMicrovm is QEMU's -M microvm: no firmware, PVH boot in well
	// under a second. The default.
	HypervisorMicrovm = "qemu-microvm"
	// HypervisorQ35 is QEMU's -M q35 (PC with firmware; seconds to boot).
	HypervisorQ35 = "qemu-q35"
)

// Hypervisors lists the valid Config.Hypervisor values, default first.
var Hypervisors = []string{HypervisorMicrovm, HypervisorQ35}

// machineTypes maps a hypervisor name to QEMU's -M value.
var machineTypes = map[string]string{
	HypervisorMicrovm: "microvm",
	HypervisorQ35:     "q35",
}

// MinMemoryMiB is the least memory gosv starts a VM with: below it the
// kernel image (it ends near 4.5 MiB) does not fit with the boot loader's
// data, and QEMU runs garbage instead of failing. The kernel itself reports
// running out of memory above it.
const MinMemoryMiB = 8

// MaxCmdline is the longest kernel command line the kernel keeps.
const MaxCmdline = bootproto.MaxCmdline

// MaxCPUs is the largest Config.CPUs accepted.
const MaxCPUs = 255

// I/O ports and IRQs of the host<->guest protocol (docs/internals.md).
const (
	DebugExitPort = bootproto.DebugExitPort
	ControlPort   = bootproto.ControlPort
	ControlIRQ    = bootproto.ControlIRQ
	StderrPort    = bootproto.StderrPort
	StderrIRQ     = bootproto.StderrIRQ
)

// Config describes one QEMU run of the gosv kernel.
type Config struct {
	// Hypervisor is HypervisorMicrovm ("qemu-microvm", also used when
	// empty) or HypervisorQ35 ("qemu-q35").
	Hypervisor string
	// Accel is the resolved accelerator, AccelKVM or AccelTCG (see
	// ChooseAccel).
	Accel string
	// MemoryMiB is the guest memory in MiB, 1..MaxMemoryMiB.
	MemoryMiB int
	// CPUs is the number of virtual CPUs, 1..MaxCPUs.
	CPUs int
	// Kernel is the path of the kernel ELF (PVH); required.
	Kernel string
	// Initrd is the path of the initrd; empty for none.
	Initrd string
	// Cmdline is the kernel command line (see QuoteCmdline); empty for
	// none.
	Cmdline string
	// ControlPath is the host file that receives what the kernel writes
	// to the control port; required by Args. Run sets it itself.
	ControlPath string
	// StderrPath is the host file that receives what the kernel writes to
	// COM2 (the app's stderr and the kernel's diagnostics); empty for a VM
	// without COM2, whose kernel then writes stderr to the console. Run
	// sets it itself, to /dev/fd/3.
	StderrPath string
	// Net is the network: none by default, QEMU's user network with
	// published ports, or a tap device (see Net).
	Net Net
	// ExtraArgs are appended verbatim to the QEMU command line.
	ExtraArgs []string
}

// Validate checks c and returns a one-line error for the first problem:
// unknown hypervisor (listing the valid ones), accelerator not kvm or tcg,
// memory outside 1..MaxMemoryMiB MiB, CPUs outside 1..MaxCPUs, empty Kernel
// or ControlPath, or a Cmdline containing a NUL byte.
func (c Config) Validate() error {
	if _, ok := machineTypes[c.hypervisor()]; !ok {
		return fmt.Errorf("unknown hypervisor %q: want %s", c.Hypervisor, strings.Join(Hypervisors, " or "))
	}
	switch c.Accel {
	case AccelKVM, AccelTCG:
	default:
		return fmt.Errorf("invalid accelerator %q: want kvm or tcg (resolve auto with ChooseAccel)", c.Accel)
	}
	if len(c.Cmdline) > MaxCmdline {
		return fmt.Errorf("the kernel command line is %d bytes, more than the %d the kernel takes: shorten the arguments and environment, or put them in a file (--copy)", len(c.Cmdline), MaxCmdline)
	}
	if c.Initrd != "" && c.MemoryMiB >= MinMemoryMiB {
		if st, err := os.Stat(c.Initrd); err == nil {
			need := MinMemoryMiB + 2*int((st.Size()+(1<<20)-1)>>20)
			if c.MemoryMiB < need {
				return fmt.Errorf("memory %d MiB is too small for this image: its files take %d MiB (held twice while unpacking); use -m %dM or more", c.MemoryMiB, (st.Size()+(1<<20)-1)>>20, need)
			}
		}
	}
	if c.MemoryMiB >= 1 && c.MemoryMiB < MinMemoryMiB {
		return fmt.Errorf("memory %d MiB is too small: the gosv kernel needs at least %d MiB", c.MemoryMiB, MinMemoryMiB)
	}
	if c.MemoryMiB < 1 || c.MemoryMiB > MaxMemoryMiB {
		return fmt.Errorf("invalid memory size %d MiB: want 1 MiB to 1 TiB", c.MemoryMiB)
	}
	if c.CPUs < 1 || c.CPUs > MaxCPUs {
		return fmt.Errorf("invalid CPU count %d: want 1 to %d", c.CPUs, MaxCPUs)
	}
	if c.Kernel == "" {
		return errors.New("no kernel file given")
	}
	if c.ControlPath == "" {
		return errors.New("no control file given")
	}
	if strings.IndexByte(c.Cmdline, 0) >= 0 {
		return errors.New("kernel command line contains a NUL byte")
	}
	return c.Net.Validate()
}

func (c Config) hypervisor() string {
	if c.Hypervisor == "" {
		return HypervisorMicrovm
	}
	return c.Hypervisor
}

// Args validates c (see Validate) and returns the arguments of
// qemu-system-x86_64, without the program name:
//
//	-M microvm|q35
//	-accel kvm -cpu host | -accel tcg -cpu max
//	-m <MemoryMiB>M -smp <CPUs>
//	-nodefaults -no-user-config -display none -no-reboot (not -nographic: with it SeaBIOS on q35 prints to the serial console)
//	-kernel <Kernel> [-append <Cmdline>] [-initrd <Initrd>]
//	-device isa-debug-exit,iobase=0xf4,iosize=4
//	-chardev stdio,id=console,signal=off -serial chardev:console
//	[-chardev file,id=gosvstderr,path=<StderrPath>
//	 -device isa-serial,chardev=gosvstderr,iobase=0x2f8,irq=3]
//	-chardev file,id=gosvctl,path=<ControlPath>
//	-device isa-serial,chardev=gosvctl,iobase=0x2e8,irq=4
//	[-netdev user,id=net0[,hostfwd=PROTO:[HOSTIP]:HOSTPORT-:GUESTPORT...] | -netdev tap,id=net0,ifname=IF,script=no,downscript=no
//	 microvm: -global virtio-mmio.force-legacy=off -device virtio-net-device,netdev=net0
//	 q35:     -device virtio-net-pci,netdev=net0,disable-legacy=on,romfile=]
//	<ExtraArgs...>
//
// -append is left out when Cmdline is empty, -initrd when Initrd is, the
// stderr port when StderrPath is. Commas in ControlPath and StderrPath are
// doubled, as QEMU's option syntax requires.
func (c Config) Args() ([]string, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cpu := "max"
	if c.Accel == AccelKVM {
		cpu = "host"
	}
	args := []string{
		"-M", machineTypes[c.hypervisor()],
		"-accel", c.Accel,
		"-cpu", cpu,
		"-m", strconv.Itoa(c.MemoryMiB) + "M",
		"-smp", strconv.Itoa(c.CPUs),
		"-nodefaults",
		"-no-user-config",
		"-display", "none",
		"-no-reboot",
		"-kernel", c.Kernel,
	}
	if c.Cmdline != "" {
		args = append(args, "-append", c.Cmdline)
	}
	if c.Initrd != "" {
		args = append(args, "-initrd", c.Initrd)
	}
	args = append(args,
		"-device", fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=4", DebugExitPort),
		"-chardev", "stdio,id=console,signal=off",
		"-serial", "chardev:console",
	)
	if c.StderrPath != "" {
		args = append(args,
			"-chardev", "file,id=gosvstderr,path="+escapeOptValue(c.StderrPath),
			"-device", fmt.Sprintf("isa-serial,chardev=gosvstderr,iobase=%#x,irq=%d", StderrPort, StderrIRQ),
		)
	}
	args = append(args,
		"-chardev", "file,id=gosvctl,path="+escapeOptValue(c.ControlPath),
		"-device", fmt.Sprintf("isa-serial,chardev=gosvctl,iobase=%#x,irq=%d", ControlPort, ControlIRQ),
	)
	args = append(args, c.Net.args(c.hypervisor())...)
	return append(args, c.ExtraArgs...), nil
}

// escapeOptValue doubles the commas of a value in QEMU's key=value,...
// option syntax.
func escapeOptValue(s string) string {
	return strings.ReplaceAll(s, ",", ",,")
}

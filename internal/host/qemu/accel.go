package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Accelerator names: AccelAuto is only a request; Config.Accel holds
// AccelKVM or AccelTCG.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"
)

// Host paths inspected by HostProbe.
const (
	KVMDevice    = "/dev/kvm"
	PVMModuleDir = "/sys/module/kvm_pvm"
)

// Probe describes what the host offers for KVM. Tests fill it with fakes;
// HostProbe returns the real one.
type Probe struct {
	// PVM reports whether the host's KVM is kvm_pvm, the software
	// "pagetable-based VM" used for nested virtualisation (no VMX/SVM).
	// gosv treats PVM as no KVM. Nil means false.
	PVM func() bool
	// OpenKVM opens /dev/kvm read-write (and closes it again) and returns
	// nil when that works, or the error that stopped it (an error matching
	// fs.ErrNotExist when the device is missing, fs.ErrPermission when it
	// cannot be opened read-write). Nil means KVM is unusable.
	OpenKVM func() error
}

// HostProbe returns the Probe of this host: PVM checks that
// /sys/module/kvm_pvm and /dev/kvm exist (without the device, the note
// says it is missing rather than naming PVM); OpenKVM opens /dev/kvm
// read-write and checks that KVM_GET_API_VERSION answers 12.
func HostProbe() Probe {
	return Probe{
		PVM: func() bool {
			if _, err := os.Stat(KVMDevice); err != nil {
				return false
			}
			_, err := os.Stat(PVMModuleDir)
			return err == nil
		},
		OpenKVM: func() error {
			f, err := os.OpenFile(KVMDevice, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			const kvmGetAPIVersion = 0xae00 // _IO(KVMIO, 0x00)
			v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
			if err != nil {
				return fmt.Errorf("KVM_GET_API_VERSION on %s: %w", KVMDevice, err)
			}
			if v != 12 {
				return fmt.Errorf("%s speaks KVM API version %d, want 12", KVMDevice, v)
			}
			return nil
		},
	}
}

// kvmUnusable returns why KVM cannot be used on the probed host, or "" when
// it can.
func kvmUnusable(p Probe) string {
	if p.PVM != nil && p.PVM() {
		return KVMDevice + " is kvm_pvm (software PVM, no VMX/SVM)"
	}
	if p.OpenKVM == nil {
		return "no KVM probe"
	}
	err := p.OpenKVM()
	switch {
	case err == nil:
		return ""
	case errors.Is(err, fs.ErrNotExist):
		return KVMDevice + " does not exist"
	case errors.Is(err, fs.ErrPermission):
		return KVMDevice + " cannot be opened read-write (permission denied)"
	default:
		return fmt.Sprintf("%s is not usable (%v)", KVMDevice, err)
	}
}

// ChooseAccel resolves the requested accelerator, AccelAuto ("" counts as
// auto), AccelKVM or AccelTCG (case-insensitive), against the host described
// by probe, and returns AccelKVM or AccelTCG.
//
// auto picks kvm when KVM is usable and otherwise tcg, with note set to one
// line (without a "gosv: " prefix) saying why, such as
// "/dev/kvm is kvm_pvm (software PVM, no VMX/SVM): using TCG".
// KVM is unusable when the host's KVM is kvm_pvm or /dev/kvm cannot be
// opened read-write. kvm returns an error saying why when KVM is unusable;
// tcg always returns tcg. Any other request is an error listing the valid
// ones. note is empty except for auto falling back to tcg.
func ChooseAccel(requested string, probe Probe) (accel string, note string, err error) {
	switch strings.ToLower(requested) {
	case "", AccelAuto:
		if why := kvmUnusable(probe); why != "" {
			return AccelTCG, why + ": using TCG", nil
		}
		return AccelKVM, "", nil
	case AccelKVM:
		if why := kvmUnusable(probe); why != "" {
			return "", "", fmt.Errorf("accelerator kvm requested but %s: use tcg or auto", why)
		}
		return AccelKVM, "", nil
	case AccelTCG:
		return AccelTCG, "", nil
	default:
		return "", "", fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", requested)
	}
}

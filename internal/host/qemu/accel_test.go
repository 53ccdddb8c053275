package qemu

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func fakeProbe(pvm bool, openErr error) Probe {
	return Probe{
		PVM:     func() bool { return pvm },
		OpenKVM: func() error { return openErr },
	}
}

func TestChooseAccel(t *testing.T) {
	usable := fakeProbe(false, nil)
	pvm := fakeProbe(true, nil)
	missing := fakeProbe(false, &fs.PathError{Op: "open", Path: "/dev/kvm", Err: fs.ErrNotExist})
	denied := fakeProbe(false, &fs.PathError{Op: "open", Path: "/dev/kvm", Err: fs.ErrPermission})
	broken := fakeProbe(false, errors.New("KVM_GET_API_VERSION on /dev/kvm: inappropriate ioctl"))

	cases := []struct {
		name      string
		requested string
		probe     Probe
		accel     string
		note      string // substring; "" means the note must be empty
		err       string // substring; "" means no error
	}{
		{"auto usable", "auto", usable, AccelKVM, "", ""},
		{"empty is auto", "", usable, AccelKVM, "", ""},
		{"auto upper case", "AUTO", usable, AccelKVM, "", ""},
		{"auto pvm", "auto", pvm, AccelTCG, "/dev/kvm is kvm_pvm (software PVM, no VMX/SVM): using TCG", ""},
		{"auto missing", "auto", missing, AccelTCG, "/dev/kvm does not exist: using TCG", ""},
		{"auto denied", "auto", denied, AccelTCG, "/dev/kvm cannot be opened read-write (permission denied): using TCG", ""},
		{"auto broken", "auto", broken, AccelTCG, "inappropriate ioctl): using TCG", ""},
		{"auto zero probe", "auto", Probe{}, AccelTCG, "no KVM probe: using TCG", ""},
		{"kvm usable", "kvm", usable, AccelKVM, "", ""},
		{"kvm pvm", "kvm", pvm, "", "", "kvm requested but /dev/kvm is kvm_pvm"},
		{"kvm missing", "kvm", missing, "", "", "kvm requested but /dev/kvm does not exist"},
		{"kvm denied", "kvm", denied, "", "", "permission denied"},
		{"tcg usable", "tcg", usable, AccelTCG, "", ""},
		{"tcg pvm", "tcg", pvm, AccelTCG, "", ""},
		{"tcg zero probe", "tcg", Probe{}, AccelTCG, "", ""},
		{"unknown", "xen", usable, "", "", `unknown accelerator "xen": want auto, kvm or tcg`},
	}
	for _, c := range cases {
		accel, note, err := ChooseAccel(c.requested, c.probe)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", c.name, err)
			continue
		}
		if accel != c.accel {
			t.Errorf("%s: accel = %q, want %q", c.name, accel, c.accel)
		}
		if c.note == "" && note != "" || !strings.Contains(note, c.note) {
			t.Errorf("%s: note = %q, want %q", c.name, note, c.note)
		}
		if strings.Contains(note, "\n") {
			t.Errorf("%s: note %q has several lines", c.name, note)
		}
	}
}

func TestPVMIsCheckedBeforeOpening(t *testing.T) {
	opened := false
	p := Probe{PVM: func() bool { return true }, OpenKVM: func() error { opened = true; return nil }}
	if accel, _, _ := ChooseAccel("auto", p); accel != AccelTCG {
		t.Fatalf("auto on PVM chose %q", accel)
	}
	if opened {
		t.Fatalf("auto on PVM opened /dev/kvm")
	}
}

func TestHostProbeRuns(t *testing.T) {
	// Whatever the host has, the real probe must answer without panicking.
	accel, note, err := ChooseAccel("auto", HostProbe())
	if err != nil || (accel != AccelKVM && accel != AccelTCG) {
		t.Fatalf("ChooseAccel(auto, HostProbe()) = %q, %q, %v", accel, note, err)
	}
	t.Logf("this host: accel %s; %s", accel, note)
}

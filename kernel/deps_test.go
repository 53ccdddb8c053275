package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The kernel may use gVisor's libraries, but not those that expect a
// host kernel underneath: safecopy and sighandling install SIGSEGV and
// SIGBUS handlers at init, which the kernel's runtime cannot serve (the
// kernel panics at boot).
func TestNoHostOnlyDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		switch p {
		case "gvisor.dev/gvisor/pkg/safecopy", "gvisor.dev/gvisor/pkg/sighandling", "gvisor.dev/gvisor/pkg/syserr":
			t.Errorf("the kernel depends on %s", p)
		}
	}
}

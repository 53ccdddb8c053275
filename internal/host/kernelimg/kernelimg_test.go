package kernelimg

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"
)

func TestReadmeIsEmbedded(t *testing.T) {
	if _, err := fs.Stat(files, "kernel/README.md"); err != nil {
		t.Fatalf("kernel/README.md is not embedded: %v", err)
	}
}

func TestKernel(t *testing.T) {
	b, err := Kernel()
	if _, statErr := fs.Stat(files, "kernel/"+FileName); statErr != nil {
		// Fresh clone: no ELF was built.
		if !errors.Is(err, ErrNoKernel) {
			t.Fatalf("Kernel() without ELF: err = %v, want ErrNoKernel", err)
		}
		if b != nil {
			t.Fatalf("Kernel() without ELF returned %d bytes", len(b))
		}
		return
	}
	if err != nil {
		t.Fatalf("Kernel(): %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		t.Fatalf("embedded %s does not start with the ELF magic", FileName)
	}
}

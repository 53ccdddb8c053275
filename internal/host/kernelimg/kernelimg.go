// Package kernelimg holds the gosv kernel ELF that is embedded in the gosv
// CLI.
//
// `make build` writes the kernel to internal/host/kernelimg/kernel/gosv-kernel.elf
// (gitignored) before building the CLI; every file of that directory is
// embedded. The directory always holds a committed README.md, so the package
// builds on a fresh clone that has no kernel yet; Kernel then reports that
// the binary carries none.
package kernelimg

import (
	"embed"
	"errors"
)

// FileName is the name of the kernel ELF inside the embedded kernel/
// directory.
const FileName = "gosv-kernel.elf"

//go:embed kernel/*
var files embed.FS

// ErrNoKernel is returned by Kernel when the binary was built without a
// kernel ELF.
var ErrNoKernel = errors.New("this gosv binary carries no kernel: build it with `make build`, or pass --kernel FILE")

// Kernel returns the bytes of the embedded kernel ELF (kernel/gosv-kernel.elf).
// The slice is shared with the embedded data: callers must not modify it.
// It returns ErrNoKernel when the binary was built without the ELF or the
// embedded file is empty.
func Kernel() ([]byte, error) {
	b, err := files.ReadFile("kernel/" + FileName)
	if err != nil || len(b) == 0 {
		return nil, ErrNoKernel
	}
	return b, nil
}

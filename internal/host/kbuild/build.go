package kbuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildOptions parameterises Build.
type BuildOptions struct {
	// Version, when set, becomes the kernel's main.version (its banner).
	Version string
	// Dir is the directory go build runs in (the module root); empty means
	// the current directory.
	Dir string
	// Out is the file the patched kernel is written to. Required.
	Out string
	// Package is the kernel's main package as go build takes it; empty
	// means "./kernel".
	Package string
	// Stderr receives go build's standard error. When nil, the output is
	// kept and its tail is included in the returned error instead.
	Stderr io.Writer
}

// Build compiles the kernel and writes the PVH-bootable image to opt.Out.
//
// It runs, in opt.Dir,
//
//	go build -o TMP -ldflags "-T 0x400000201000 -E github.com/gosv/gosv/kernel/machine.pvhEntry" PACKAGE
//
// with GOOS=linux GOARCH=amd64 CGO_ENABLED=0 overriding those variables in
// the inherited environment, applies Patch with the default options, and
// replaces opt.Out atomically (a temporary file in the same directory,
// renamed over Out; mode 0755). On error Out is left as it was.
func Build(ctx context.Context, opt BuildOptions) error {
	if opt.Out == "" {
		return fmt.Errorf("kbuild: no output file given")
	}
	pkg := opt.Package
	if pkg == "" {
		pkg = "./kernel"
	}
	tmp, err := os.MkdirTemp("", "gosv-kbuild-")
	if err != nil {
		return fmt.Errorf("kbuild: %w", err)
	}
	defer os.RemoveAll(tmp)
	rawPath := filepath.Join(tmp, "kernel.elf")

	ldflags := fmt.Sprintf("-T %#x -E %s", LinkAddress, DefaultEntrySymbol)
	if opt.Version != "" {
		ldflags += " -X main.version=" + opt.Version
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", rawPath, "-ldflags="+ldflags, pkg)
	cmd.Dir = opt.Dir
	cmd.Env = kernelEnv(os.Environ())
	var errBuf bytes.Buffer
	if opt.Stderr != nil {
		cmd.Stderr = opt.Stderr
	} else {
		cmd.Stderr = &errBuf
	}
	if err := cmd.Run(); err != nil {
		msg := fmt.Sprintf("kbuild: go build %s: %v", pkg, err)
		if tail := lastLines(errBuf.String(), 20); tail != "" {
			msg += "\n" + tail
		}
		return fmt.Errorf("%s", msg)
	}
	raw, err := os.ReadFile(rawPath)
	if err != nil {
		return fmt.Errorf("kbuild: %w", err)
	}
	img, err := Patch(raw, PatchOptions{})
	if err != nil {
		return fmt.Errorf("kbuild: %s: %w", pkg, err)
	}
	if err := writeFileAtomic(opt.Out, img, 0o755); err != nil {
		return fmt.Errorf("kbuild: %w", err)
	}
	return nil
}

// kernelEnv returns env with GOOS, GOARCH and CGO_ENABLED set for the kernel.
func kernelEnv(env []string) []string {
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
}

// lastLines returns the last n lines of s, without a trailing newline.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeFileAtomic writes data to a temporary file next to name and renames it
// over name, so readers see either the old or the new file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	ok = true
	return nil
}

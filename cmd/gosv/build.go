package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gosv/gosv/internal/host/image"
	"github.com/gosv/gosv/internal/host/qemu"
	"github.com/spf13/cobra"
)

// buildOptions are the flags of gosv build.
type buildOptions struct {
	out     string
	vm      vmFlags
	content contentFlags
}

func newBuildCmd() *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build -o DIR|FILE.tar [flags] [PATH [ARGS...]]",
		Short: "Write a bootable image of the program PATH with ARGS, without running it",
		Long: "Build the image that 'gosv run PATH ARGS' would boot (the same flags choose\n" +
			"its files and command line) and write it to -o; 'gosv run IMAGE' boots it.\n\n" +
			"The image is a directory when -o names an existing directory or ends in\n" +
			"\"/\", else a tar archive of the same files (NAME.tar by convention):\n\n" +
			"  gosv-image.json  the marker: {\"version\": 1, \"memory\": \"128M\", \"cpus\": 1,\n" +
			"                   \"app\": ..., \"files\": ..., \"bytes\": ...}; first in a tar\n" +
			"  cmdline          the kernel command line, one line\n" +
			"  kernel.elf       the kernel (--kernel FILE, or the embedded one)\n" +
			"  initrd.cpio      the newc cpio initrd (absent when there are no files)\n\n" +
			"An existing directory must be empty or hold an image, which is replaced.\n" +
			"-m, -c, -p and --net are recorded as the image's defaults (\"ports\" and\n" +
			"\"net\" in gosv-image.json); without -m the default is\n" +
			"128M, or 64M plus three times the initrd's size (rounded up to 64M) when\n" +
			"that is more.\n\n" +
			"PATH follows 'gosv run': a static executable goes in as /NAME; a dynamic one\n" +
			"at its host path with its interpreter and libraries (symbolic links kept;\n" +
			"/etc/ld.so.cache when a library is found only through it). For a real\n" +
			"executable named python3.X, PREFIX/lib/python3.X goes in (PREFIX: the parent\n" +
			"of its directory) without __pycache__, test/, tests/, idlelib/, tkinter/,\n" +
			"turtledemo/, ensurepip/, site-packages/ and config-3.X-*/, plus the libraries\n" +
			"of the lib-dynload modules; for perl, Debian's trees that exist:\n" +
			"/usr/lib/x86_64-linux-gnu/perl-base, /usr/lib/x86_64-linux-gnu/perl/5.X,\n" +
			"/usr/share/perl/5.X, /usr/lib/x86_64-linux-gnu/perl5/5.X, /usr/share/perl5\n" +
			"and /etc/perl, without *.pod, pod/ and CORE/, plus the libraries of their XS\n" +
			"modules. --no-auto-files leaves these out; --copy and --manifest add files\n" +
			"(and win over automatic files at the same guest path).\n\n" +
			"On a terminal, a build that takes a while shows the files and bytes packed.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.build(cmd, args) },
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.out, "output", "o", "", "write the image to `PATH`: a directory, or a tar file")
	o.vm.register(f, " (the image's default)")
	o.content.register(f)
	return cmd
}

func (o *buildOptions) build(cmd *cobra.Command, args []string) (err error) {
	if o.out == "" {
		return usageError(cmd, "-o PATH is required")
	}
	mib, err := o.vm.check(cmd)
	if err != nil {
		return err
	}
	netw, _, err := o.vm.network(cmd)
	if err != nil {
		return err
	}
	opts, err := o.content.options(cmd, args)
	if err != nil {
		return err
	}
	if err := image.CheckOutput(o.out); err != nil {
		return err
	}
	kernel, cleanup, err := o.content.kernelFile()
	if err != nil {
		return err
	}
	defer cleanup()

	// The initrd is written next to the output, so that a directory image
	// gets it by a rename.
	outDir := o.out
	if image.SavesAsTar(o.out) {
		outDir = filepath.Dir(o.out)
	}
	if _, serr := os.Stat(outDir); serr != nil {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
		// A failed build takes back the directory it made (if empty).
		defer func() {
			if err != nil {
				os.Remove(outDir)
			}
		}()
	}
	opts.Dir = outDir
	progress := newProgress(cmd.ErrOrStderr(), "packing")
	opts.Progress = progress.callback()
	img, err := image.Build(opts)
	if err != nil {
		progress.finish("")
		return err
	}
	defer img.Remove()
	if cmd.Context().Err() != nil {
		progress.finish("")
		return errors.New("interrupted")
	}
	for _, n := range img.Notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "gosv: note: %s\n", n)
	}
	size := initrdSize(img.Initrd)
	if mib == 0 {
		mib = image.MemoryMiB(size)
	}
	err = image.Save(o.out, image.Saved{
		Kernel:  kernel,
		Initrd:  img.Initrd,
		Cmdline: qemu.QuoteCmdline(img.Cmdline),
		Meta: image.Meta{
			Version:   image.FormatVersion,
			Memory:    fmt.Sprintf("%dM", mib),
			CPUs:      o.vm.cpus,
			Net:       o.vm.net,
			Ports:     portStrings(netw.Ports),
			App:       img.GuestExe,
			Runtime:   img.Runtime,
			Files:     img.Files,
			Bytes:     img.Bytes,
			CreatedBy: "gosv " + version,
		},
	})
	if err != nil {
		progress.finish("")
		return err
	}
	progress.finish(fmt.Sprintf("wrote %s: %d files, %s MiB", o.out, img.Files, mibString(size)))
	return nil
}

// portStrings gives published ports in docker's syntax, for the image.
func portStrings(ps []qemu.Port) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

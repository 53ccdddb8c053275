// Package devfs is gosv's /dev: a memory filesystem (Linux's devtmpfs)
// holding the character devices the app may open — null, zero, full,
// random, urandom, console and tty — the directory shm, on which the kernel
// mounts a tmpfs, and the symbolic links fd -> /proc/self/fd and
// stdin, stdout, stderr -> /proc/self/fd/0, 1, 2.
package devfs

import (
	"github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/vfs"
)

// Dev is st_dev of the files of /dev (devtmpfs is an anonymous device).
var Dev = vfs.Mkdev(0, 5)

// New creates the filesystem. console receives what the app writes to
// /dev/console and /dev/tty (nil: discarded); reading them is end of file.
func New(console func(p []byte) (int, error)) *ramfs.FS {
	fs := ramfs.New("devtmpfs", 0o755)
	fs.SetDev(Dev)
	fs.SetOptions("mode=755")
	fs.SetConsole(console, nil)
	root := fs.RootInode()
	fs.AddStandardDevices(root)
	// /dev/tty is the controlling terminal: the console here.
	fs.AddDevice(root, "tty", 0o666, vfs.Mkdev(5, 0), fs.ConsoleDevice())
	ctx := vfs.RootContext
	root.Mkdir(ctx, "shm", 0o1777)
	root.Mkdir(ctx, "pts", 0o755)
	root.Symlink(ctx, "fd", "/proc/self/fd")
	root.Symlink(ctx, "stdin", "/proc/self/fd/0")
	root.Symlink(ctx, "stdout", "/proc/self/fd/1")
	root.Symlink(ctx, "stderr", "/proc/self/fd/2")
	return fs
}

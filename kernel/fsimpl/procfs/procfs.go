// Package procfs is gosv's /proc (proc(5)), built on kernfs. The process
// files come from the kernel's process layer (kernel/linux), which gives
// the entries of the root directory; this package adds the files that
// describe the mount table.
package procfs

import (
	"github.com/gosv/gosv/kernel/fsimpl/kernfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// Dev is st_dev of the files of /proc.
var Dev = vfs.Mkdev(0, 22)

// Errors are proc's answers to creations: the lookup of a missing name
// fails first, so every creation is ENOENT.
var Errors = kernfs.Errors{Create: unix.ENOENT, CreateOpen: unix.ENOENT}

// Root lists the entries of /proc and looks one up; find may be nil.
type Root struct {
	List func(ctx vfs.Context) []*kernfs.Node
	Find func(ctx vfs.Context, name string) *kernfs.Node
}

// New creates the filesystem with the root directory r.
func New(r Root) *kernfs.FS {
	root := kernfs.Dir("", 0o555, r.List)
	root.Find = r.Find
	return kernfs.New("proc", unix.PROC_SUPER_MAGIC, Dev, Errors, root)
}

// MountFiles are /proc/N/mounts and /proc/N/mountinfo: the mount table ns
// as fstab(5) lines and as proc(5) describes mountinfo.
func MountFiles(ns *vfs.Namespace) []*kernfs.Node {
	return []*kernfs.Node{
		kernfs.Reg("mounts", 0o444, func(vfs.Context) []byte { return ns.ProcMounts() }),
		kernfs.Reg("mountinfo", 0o444, func(vfs.Context) []byte { return ns.ProcMountinfo() }),
	}
}

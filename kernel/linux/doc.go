// Package linux is gosv's level 1: the Linux x86-64 syscall ABI served to
// the app. An app thread is a Task whose goroutine enters the app through
// machine.RunApp and handles each syscall, fault and interrupt in plain Go.
//
// Files by family: sys_file.go, file_*.go (files, directories and mounts,
// over kernel/vfs), pipe.go (pipes and FIFOs), procfs.go (the process
// files of /proc), sys_mem.go and mm.go (memory), sys_thread.go, clone.go, futex.go (threads),
// sys_signal.go, signal*.go (signals), sys_time.go (clocks, sleeps,
// timerfd), sys_event.go, epoll.go, eventfd.go (epoll, eventfd, poll,
// select), sys_res.go (rlimits, rusage), sys_misc.go, sys_xattr.go. Every
// handler has the shape of SyscallFn and returns the value for RAX or an
// errno.
//
// The package is ordinary Go and runs on the host in `go test` with fake
// Mem and Pager implementations; the kernel (kernel/app.go) connects it to
// package machine.
package linux

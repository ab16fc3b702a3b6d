/**
 * Block storage backends for disk devices: {@link dev.apiary.vmm.block.BlockBackend}, a byte-addressed disk
 * image, and {@link dev.apiary.vmm.block.FileBlockBackend}, a raw image file read and written with positional
 * {@link java.nio.channels.FileChannel} I/O straight between the file and views of guest RAM.
 *
 * <p>May depend on the JDK and jnr-ffi (for {@code fallocate}) only; device models ({@code nvme},
 * {@code virtio}) depend on this package.
 */
package dev.apiary.vmm.block;

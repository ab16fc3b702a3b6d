/**
 * The 16550A UART ({@link dev.apiary.vmm.uart.Uart16550}) and where the four PC COM ports sit
 * ({@link dev.apiary.vmm.uart.ComPort}). May depend on {@code dev.apiary.vmm.bus} and
 * {@code dev.apiary.vmm.device} only; the console, serial history and sockets live with the machine and
 * talk to the UART through its output sink and {@code receive}.
 */
package dev.apiary.vmm.uart;

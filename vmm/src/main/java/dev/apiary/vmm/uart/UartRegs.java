package dev.apiary.vmm.uart;

/**
 * Registers and bits of the 16550A, names as in the National Semiconductor PC16550D datasheet (§8 "Registers",
 * table II) and Linux's {@code include/uapi/linux/serial_reg.h}.
 */
final class UartRegs {
    private UartRegs() {}

    // Offsets (table II). DLAB = LCR bit 7 selects DLL/DLM at 0 and 1.
    static final int RBR = 0; // read, DLAB=0
    static final int THR = 0; // write, DLAB=0
    static final int DLL = 0; // DLAB=1
    static final int IER = 1; // DLAB=0
    static final int DLM = 1; // DLAB=1
    static final int IIR = 2; // read
    static final int FCR = 2; // write
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    // §8.6 Interrupt Enable Register.
    static final int IER_ERBFI = 0x01; // received data available (and character timeout)
    static final int IER_ETBEI = 0x02; // transmitter holding register empty
    static final int IER_ELSI = 0x04; // receiver line status
    static final int IER_EDSSI = 0x08; // modem status
    static final int IER_MASK = 0x0F;

    // §8.5 Interrupt Identification Register (table IV), bits 3:0.
    static final int IIR_NO_INT = 0x01;
    static final int IIR_RLS = 0x06;
    static final int IIR_RDA = 0x04;
    static final int IIR_CTI = 0x0C;
    static final int IIR_THRE = 0x02;
    static final int IIR_MSR = 0x00;
    static final int IIR_FIFOS_ENABLED = 0xC0;

    // §8.4 FIFO Control Register.
    static final int FCR_FIFO_ENABLE = 0x01;
    static final int FCR_CLEAR_RX = 0x02;
    static final int FCR_CLEAR_TX = 0x04;
    static final int FCR_DMA_MODE = 0x08;
    static final int FCR_TRIGGER_SHIFT = 6;
    /** RX trigger levels selected by FCR bits 7:6. */
    static final int[] RX_TRIGGER_LEVELS = {1, 4, 8, 14};

    // §8.1 Line Control Register.
    static final int LCR_DLAB = 0x80;

    // §8.7 Modem Control Register.
    static final int MCR_DTR = 0x01;
    static final int MCR_RTS = 0x02;
    static final int MCR_OUT1 = 0x04;
    static final int MCR_OUT2 = 0x08;
    static final int MCR_LOOP = 0x10;
    static final int MCR_MASK = 0x1F;

    // §8.2 Line Status Register.
    static final int LSR_DR = 0x01;
    static final int LSR_OE = 0x02;
    static final int LSR_PE = 0x04;
    static final int LSR_FE = 0x08;
    static final int LSR_BI = 0x10;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;
    static final int LSR_RX_FIFO_ERROR = 0x80;
    static final int LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

    // §8.8 Modem Status Register.
    static final int MSR_DCTS = 0x01;
    static final int MSR_DDSR = 0x02;
    static final int MSR_TERI = 0x04;
    static final int MSR_DDCD = 0x08;
    static final int MSR_DELTAS = 0x0F;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;

    static final int FIFO_SIZE = 16;
    /** Input clock 1.8432 MHz / 16: the baud rate with divisor 1. */
    static final int BASE_BAUD = 115_200;
}

/* 16550 on COM1: init, polled TX (FIFO-aware, so only one LSR poll per 16 bytes), polled RX. */
#include "kit.h"

static int tx_room __kdata;
static int fifo_depth __kdata = 1;

void uart_init(void)
{
    outb(COM1 + 1, 0x00);       /* IER: no interrupts */
    outb(COM1 + 3, 0x80);       /* DLAB */
    outb(COM1 + 0, 0x01);       /* 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8n1 */
    outb(COM1 + 2, 0xc7);       /* FIFO on, cleared, 14-byte RX trigger */
    outb(COM1 + 4, 0x0b);       /* DTR RTS OUT2 */
    fifo_depth = ((inb(COM1 + 2) & 0xc0) == 0xc0) ? 16 : 1;
    tx_room = 0;
}

void uart_putc(char c)
{
    if (tx_room <= 0) {
        for (u32 spins = 0; !(inb(COM1 + 5) & 0x20) && spins < 1000000; spins++)
            cpu_relax();
        tx_room = fifo_depth;
    }
    outb(COM1, (u8)c);
    tx_room--;
}

int uart_getc(void)
{
    if (inb(COM1 + 5) & 0x01)
        return inb(COM1);
    return -1;
}

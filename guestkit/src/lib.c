/* Freestanding helpers: string functions, a small printf, the console lock. */
#include "kit.h"

void *memset(void *d, int c, size_t n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, size_t n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }
void *memmove(void *d, const void *s, size_t n)
{
    u8 *p = d; const u8 *q = s;
    if (p < q) while (n--) *p++ = *q++;
    else { p += n; q += n; while (n--) *--p = *--q; }
    return d;
}
int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++) if (*p != *q) return *p - *q;
    return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) { if (*a != *b) return (u8)*a - (u8)*b; if (!*a) return 0; }
    return 0;
}
int strcmp(const char *a, const char *b) { return strncmp(a, b, (size_t)-1); }

struct out { char *buf; size_t n, pos; };
static void put(struct out *o, char c) { if (o->pos + 1 < o->n) o->buf[o->pos] = c; o->pos++; }

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct out o = { buf, n, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') { put(&o, *fmt); continue; }
        fmt++;
        int zero = 0, width = 0, lng = 0, left = 0;
        if (*fmt == '-') { left = 1; fmt++; }
        if (*fmt == '0') { zero = 1; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') { lng = 1; fmt++; }
        char tmp[24]; int tl = 0; const char *s = tmp;
        u64 v; int neg = 0, base = 10;
        switch (*fmt) {
        case 's': s = va_arg(ap, const char *); if (!s) s = "(null)"; tl = (int)strlen(s); break;
        case 'c': tmp[0] = (char)va_arg(ap, int); tl = 1; break;
        case '%': tmp[0] = '%'; tl = 1; break;
        case 'd': case 'i': {
            i64 x = lng ? va_arg(ap, i64) : va_arg(ap, int);
            if (x < 0) { neg = 1; v = (u64)-x; } else v = (u64)x;
            goto num;
        }
        case 'p': lng = 1; base = 16; put(&o, '0'); put(&o, 'x'); v = va_arg(ap, u64); goto num;
        case 'x': base = 16; /* fall through */
        case 'u': v = lng ? va_arg(ap, u64) : va_arg(ap, u32);
        num: {
            char r[24]; int rl = 0;
            do { r[rl++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
            if (neg) tmp[tl++] = '-';
            while (rl) tmp[tl++] = r[--rl];
            break;
        }
        default: tmp[0] = '?'; tl = 1; break;
        }
        if (!left) for (int i = tl; i < width; i++) put(&o, zero ? '0' : ' ');
        for (int i = 0; i < tl; i++) put(&o, s[i]);
        if (left) for (int i = tl; i < width; i++) put(&o, ' ');
    }
    if (o.n) o.buf[o.pos < o.n ? o.pos : o.n - 1] = 0;
    return (int)o.pos;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap; va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

void spin_lock(volatile int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (*l) cpu_relax();
}
void spin_unlock(volatile int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

static volatile int console_lock __kdata;

void kputs_raw(const char *s) { while (*s) uart_putc(*s++); }

void kprintf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap; va_start(ap, fmt);
    vsnprintf(buf, sizeof buf - 2, fmt, ap);
    va_end(ap);
    spin_lock(&console_lock);
    kputs_raw(buf);
    kputs_raw("\r\n");
    spin_unlock(&console_lock);
}

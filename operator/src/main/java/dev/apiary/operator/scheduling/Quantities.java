package dev.apiary.operator.scheduling;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;

/** Byte counts to and from Kubernetes quantities. */
public final class Quantities {
    private Quantities() {}

    /** Bytes in the quantity, or -1 when it is missing or not a quantity. */
    public static long bytes(Quantity q) {
        if (q == null) return -1;
        try {
            BigDecimal b = Quantity.getAmountInBytes(q);
            return b.signum() < 0 ? -1 : b.longValueExact();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** The largest binary unit that divides the value: 1073741824 → "1Gi", 1536Mi stays "1536Mi". */
    public static String format(long bytes) {
        String[] units = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
        int u = 0;
        while (u < units.length - 1 && bytes != 0 && bytes % 1024 == 0) {
            bytes /= 1024;
            u++;
        }
        return bytes + units[u];
    }

    public static Quantity quantity(long bytes) {
        return new Quantity(format(bytes));
    }
}

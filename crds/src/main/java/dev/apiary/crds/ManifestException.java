package dev.apiary.crds;

/** A manifest that cannot be used, with the path of the offending field (for example {@code spec.disks[1].image.path}). */
public class ManifestException extends Exception {
    private final String field;

    public ManifestException(String field, String reason) {
        super(field == null || field.isEmpty() ? reason : field + ": " + reason);
        this.field = field;
    }

    public String field() {
        return field;
    }
}

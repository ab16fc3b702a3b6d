package dev.apiary.crds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON merge patches (RFC 7386) for writes that carry only what the writer changed. The operator and the agent read
 * an object through their model classes, which drop fields they do not know; a PUT of that copy would erase fields a
 * newer operator or agent wrote (a rolling upgrade). A patch made by {@link #diff} of the copy before and after the
 * decision names only the members that changed, so everything else on the server, known or not, stays as it is.
 */
public final class MergePatch {
    private MergePatch() {}

    /**
     * The merge patch that turns {@code before} into {@code after}: members that differ (objects recursively, a list
     * or a scalar whole), null for members {@code after} lacks. Empty when they are equal.
     */
    public static ObjectNode diff(JsonNode before, JsonNode after) {
        ObjectNode patch = JsonNodeFactory.instance.objectNode();
        JsonNode b = before == null || before.isNull() ? JsonNodeFactory.instance.objectNode() : before;
        for (Iterator<Map.Entry<String, JsonNode>> it = after.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = b.get(e.getKey());
            JsonNode now = e.getValue();
            if (now.isNull()) {
                if (old != null && !old.isNull()) patch.putNull(e.getKey());
            } else if (old != null && old.isObject() && now.isObject()) {
                ObjectNode sub = diff(old, now);
                if (!sub.isEmpty()) patch.set(e.getKey(), sub);
            } else if (!now.equals(old)) {
                patch.set(e.getKey(), now.deepCopy());
            }
        }
        for (Iterator<String> it = b.fieldNames(); it.hasNext();) {
            String name = it.next();
            if (!after.has(name) && !b.get(name).isNull()) patch.putNull(name);
        }
        return patch;
    }

    /** Applies a merge patch to {@code target} (changed in place when it is an object) and returns the result. */
    public static JsonNode apply(JsonNode target, JsonNode patch) {
        if (!patch.isObject()) return patch.deepCopy();
        ObjectNode out = target != null && target.isObject() ? (ObjectNode) target : JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isNull()) {
                out.remove(e.getKey());
            } else {
                out.set(e.getKey(), apply(out.get(e.getKey()), e.getValue()));
            }
        }
        return out;
    }
}

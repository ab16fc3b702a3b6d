package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** RFC 7386: the diff carries only what changed, and applying it to the server's copy keeps everything else. */
class MergePatchTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s.replace('\'', '"'));
    }

    @Test
    void diffNamesOnlyChangedMembersAndNullForRemovedOnes() throws Exception {
        JsonNode before = json("{'phase':'Pending','runId':1,'vmm':{'pid':5,'runId':1},'conditions':[{'type':'A'}]}");
        JsonNode after = json("{'phase':'Scheduled','runId':1,'vmm':{'pid':6,'runId':1},'conditions':[{'type':'A'},{'type':'B'}],'nodeName':'n'}");
        assertEquals(json("{'phase':'Scheduled','vmm':{'pid':6},'conditions':[{'type':'A'},{'type':'B'}],'nodeName':'n'}"),
                MergePatch.diff(before, after));
        assertEquals(json("{'vmm':null}"), MergePatch.diff(json("{'vmm':{'pid':1},'phase':'X'}"), json("{'phase':'X'}")));
        assertTrue(MergePatch.diff(before, before).isEmpty());
        assertEquals(after, MergePatch.diff(null, after));
    }

    @Test
    void applyingTheDiffToACopyWithUnknownFieldsKeepsThem() throws Exception {
        // The server's copy has a field this model never read: a diff of the model's copies cannot mention it.
        JsonNode server = json("{'phase':'Pending','future':{'x':1},'conditions':[{'type':'A','extra':true}]}");
        JsonNode modelBefore = json("{'phase':'Pending','conditions':[{'type':'A','extra':true}]}");
        JsonNode modelAfter = json("{'phase':'Running','conditions':[{'type':'A','extra':true}],'vmm':{'pid':2}}");
        JsonNode merged = MergePatch.apply(server.deepCopy(), MergePatch.diff(modelBefore, modelAfter));
        assertEquals(json("{'phase':'Running','future':{'x':1},'conditions':[{'type':'A','extra':true}],'vmm':{'pid':2}}"),
                merged);
        // Lists are replaced whole, null removes.
        assertEquals(json("{'l':[3]}"), MergePatch.apply(json("{'l':[1,2],'g':1}"), json("{'l':[3],'g':null}")));
    }
}

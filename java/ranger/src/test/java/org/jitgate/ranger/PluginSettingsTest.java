package org.jitgate.ranger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PluginSettingsTest {
    @Test
    void pluginFileWinsOverEvaluatorOptions() {
        PluginSettings s = PluginSettings.of("hdfs", Map.of(
                "jitgate.service.url", "http://jitgate.example:8470",
                "jitgate.host", "from-the-service-definition",
                "other.key", "ignored"));
        assertEquals("jitgate_hdfs", s.serviceName, "ranger.plugin.hdfs.service.name of ranger-hdfs-security.xml");
        assertEquals("nn1.test", s.engine.get("jitgate.host"), "ranger-hdfs-security.xml wins");
        assertEquals("http://jitgate.example:8470", s.engine.get("jitgate.service.url"));
        assertEquals("ranger-hdfs", s.engine.get("jitgate.plugin"));
        assertFalse(s.engine.containsKey("other.key"));
    }

    @Test
    void withoutAPluginFileTheOptionsAndDefaultsApply() {
        PluginSettings s = PluginSettings.of("kafka", Map.of("jitgate.service.url", "http://jitgate.example:8470"));
        assertNull(s.serviceName);
        assertEquals("http://jitgate.example:8470", s.engine.get("jitgate.service.url"));
        assertEquals("ranger-kafka", s.engine.get("jitgate.plugin"));
    }

    @Test
    void auditContextNamesServiceAndPolicy() {
        assertEquals("ranger.service=cl1_hadoop ranger.policy.id=42",
                JitGateConditionEvaluator.contextPrefix("cl1_hadoop", Arrays.asList(null, " 42 ")));
        assertEquals("ranger.policy.id=a_b", JitGateConditionEvaluator.contextPrefix(null, Arrays.asList("a b")));
        assertEquals("ranger.service=cl1_hadoop", JitGateConditionEvaluator.contextPrefix("cl1_hadoop", null));
    }
}

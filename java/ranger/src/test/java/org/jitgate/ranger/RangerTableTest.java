package org.jitgate.ranger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;
import java.util.TreeSet;
import org.apache.ranger.plugin.model.RangerServiceDef.RangerAccessTypeDef;
import org.jitgate.Action;
import org.jitgate.JitGate;
import org.junit.jupiter.api.Test;

/** The core's {@code ranger} table (src/mapping/ranger.tsv) against the access types Ranger defines. */
class RangerTableTest {
    /** Ranger 2.7's standard types, named here so a type Ranger drops is not silently forgotten. */
    private static final Set<String> STANDARD = Set.of("read", "write", "execute", "select", "update", "create",
            "drop", "alter", "index", "lock", "all", "repladmin", "serviceadmin", "tempudfadmin", "refresh");

    @Test
    void everyAccessTypeOfTheShippedServiceDefinitionsHasARow() {
        Set<String> types = new TreeSet<>(STANDARD);
        for (String type : new String[] {"hdfs", "hive"}) {
            for (RangerAccessTypeDef def : RangerServices.standardDef(type).getAccessTypes()) {
                types.add(def.getName());
            }
            for (JsonNode item : RangerServices.addition(type).path("examplePolicy").path("policyItems")) {
                item.path("accesses").forEach(a -> types.add(a.path("type").asText()));
            }
        }
        assertTrue(types.size() >= STANDARD.size() && types.containsAll(STANDARD), types.toString());
        for (String type : types) {
            assertNotNull(JitGate.mapping(JitGateConditionEvaluator.ENGINE, type),
                    "src/mapping/ranger.tsv has no row for Ranger's access type " + type);
        }
    }

    @Test
    void accessTypesMapToTheActionsTheyUse() {
        assertActions(Action.READ, "read", "select", "execute", "refresh", "_any");
        assertActions(Action.WRITE, "write", "update", "lock");
        assertActions(Action.TRANSFORM, "create", "alter", "drop", "index");
        assertActions(Action.READ | Action.WRITE | Action.TRANSFORM, "all");
        assertActions(0, "repladmin", "serviceadmin", "tempudfadmin", "_admin");
        assertNull(JitGate.mapping(JitGateConditionEvaluator.ENGINE, "nosuchtype"));
    }

    @Test
    void noRangerTypeAsksForExport() {
        for (String type : STANDARD) {
            int[] row = JitGate.mapping(JitGateConditionEvaluator.ENGINE, type);
            assertEquals(0, (row[0] | row[1]) & Action.EXPORT, type);
            assertEquals(0, row[1], type + ": a Ranger request names no output");
        }
    }

    @Test
    void requestNeedsTheActionsOfEveryTypeItAsksFor() {
        assertEquals(Action.READ | Action.WRITE, JitGateConditionEvaluator.actions(Set.of("read", "write")));
        assertEquals(0, JitGateConditionEvaluator.actions(Set.of("select", "repladmin")),
                "one type no grant covers fails the whole request");
        assertEquals(0, JitGateConditionEvaluator.actions(Set.of("select", "nosuchtype")));
    }

    private static void assertActions(int expected, String... types) {
        for (String type : types) {
            assertArrayEquals(new int[] {expected, 0}, JitGate.mapping(JitGateConditionEvaluator.ENGINE, type), type);
        }
    }
}

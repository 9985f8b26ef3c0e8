package org.jitgate.hive;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveOperationType;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject.HivePrivObjectActionType;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject.HivePrivilegeObjectType;
import org.jitgate.Access;
import org.jitgate.Action;
import org.jitgate.JitGate;

/**
 * What one Hive operation touches, as jitgate {@link Access}es: the objects HiveServer2 hands the
 * authorizer, each with the actions the core's Hive table ({@code src/mapping/hive.tsv}) gives
 * the operation for inputs and outputs.
 */
final class HiveAccesses {
    /**
     * What a pointed-at location needs, by statement: the {@code location} role of the
     * statement's FIELDS in the core's Hive table ({@code read} for a table or partition,
     * {@code write} for a database).
     */
    private static final Map<HiveOperationType, Integer> POINTED_AT = pointedAt();
    /** Statements that point a table, a partition or a database at a location. */
    static final Set<HiveOperationType> POINTING = POINTED_AT.keySet();
    /** Of those, the ones whose location receives new tables' files. */
    static final Set<HiveOperationType> POINTING_DATABASES = Set.copyOf(POINTED_AT.entrySet().stream()
            .filter(e -> e.getValue() == Action.WRITE).map(Map.Entry::getKey).toList());

    /** The core's table: {@code {input actions, output actions}} of an operation, or null. */
    static final Function<String, int[]> CORE_TABLE = name -> JitGate.mapping("hive", name);

    private HiveAccesses() {
    }

    /**
     * The accesses of {@code op} over {@code inputs} and {@code outputs} (either may be null).
     * An operation the table has no row for asks for no actions, which the core denies inside a
     * zone; an object whose row says {@code -} is left out. Places outside the model
     * ({@code file:}, {@code s3a:}) go to the core as they are: outside every zone.
     */
    static List<Access> of(HiveOperationType op, List<HivePrivilegeObject> inputs,
                           List<HivePrivilegeObject> outputs, Function<String, int[]> table) {
        return of(op, inputs, outputs, table, null);
    }

    /**
     * As above, where a command's relative paths lie below {@code workingDir} (null: they stay
     * relative, which the core refuses).
     */
    static List<Access> of(HiveOperationType op, List<HivePrivilegeObject> inputs,
                           List<HivePrivilegeObject> outputs, Function<String, int[]> table,
                           java.net.URI workingDir) {
        int[] row = table.apply(op.name());
        boolean dfs = op == HiveOperationType.DFS;
        List<Access> out = new ArrayList<>();
        boolean pointing = POINTING.contains(op);
        if (pointing && outputs != null) {
            // The location a table or partition is pointed at is data it reads from now on: read
            // there; a database's receives its new tables' files: write. The statement moves what
            // it re-points (its input, the table or database) to the location, so re-pointing a
            // zone's table out of the zone's storage is an export.
            int at = POINTED_AT.get(op);
            for (HivePrivilegeObject o : outputs) {
                if (isLocation(o)) {
                    for (String r : HiveResources.of(o, dfs, workingDir)) {
                        out.add(Access.output(r, at));
                    }
                }
            }
        }
        if (inputs != null) {
            for (HivePrivilegeObject o : inputs) {
                int actions = row == null ? 0 : row[0];
                if (row != null && actions == 0) {
                    continue;
                }
                for (String r : HiveResources.of(o, dfs, workingDir)) {
                    out.add(Access.input(r, actions));
                }
            }
        }
        if (outputs != null) {
            for (HivePrivilegeObject o : outputs) {
                if (pointing && isLocation(o)) {
                    continue;
                }
                int actions = row == null ? 0 : row[1] | writeOf(o.getActionType());
                if (row != null && actions == 0) {
                    continue;
                }
                for (String r : HiveResources.of(o, dfs, workingDir)) {
                    out.add(Access.output(r, actions));
                }
            }
        }
        return out;
    }

    /**
     * {@code ABORT TRANSACTIONS} names only transaction ids, yet rolls back what they wrote: it is
     * a write of every table the transactions hold a lock on ({@code locks}, the metastore's
     * SHOW LOCKS). A command whose ids cannot be read is refused (an access that names nothing
     * the core can parse).
     */
    static List<Access> abortTransactions(String command,
                                          List<org.apache.hadoop.hive.metastore.api.ShowLocksResponseElement> locks,
                                          Function<String, int[]> table) {
        int[] row = table.apply("ABORT_TRANSACTIONS");
        int write = row == null ? 0 : row[1];
        java.util.Set<Long> ids = new java.util.HashSet<>();
        String[] words = command == null ? new String[0] : command.trim().split("[\\s,;]+");
        for (int i = 2; i < words.length; i++) {
            try {
                ids.add(Long.parseLong(words[i]));
            } catch (NumberFormatException e) {
                return List.of(Access.output("hive:?" + words[i], write));
            }
        }
        if (words.length < 3 || !words[0].equalsIgnoreCase("abort") || !words[1].equalsIgnoreCase("transactions")) {
            return List.of(Access.output("hive:?", write));
        }
        List<Access> out = new ArrayList<>();
        for (org.apache.hadoop.hive.metastore.api.ShowLocksResponseElement lock : locks) {
            if (ids.contains(lock.getTxnid()) && lock.getDbname() != null) {
                Access a = Access.output(HiveResources.hive(lock.getDbname(), lock.getTablename()), write);
                if (!out.contains(a)) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    private static Map<HiveOperationType, Integer> pointedAt() {
        Map<HiveOperationType, Integer> out = new java.util.EnumMap<>(HiveOperationType.class);
        for (HiveOperationType op : HiveOperationType.values()) {
            String fields = JitGate.fields("hive", op.name());
            for (String pair : fields == null ? new String[0] : fields.split(",")) {
                if (pair.equals("location=read")) {
                    out.put(op, Action.READ);
                } else if (pair.equals("location=write")) {
                    out.put(op, Action.WRITE);
                }
            }
        }
        return Map.copyOf(out);
    }

    private static boolean isLocation(HivePrivilegeObject o) {
        return o.getType() == HivePrivilegeObjectType.DFS_URI || o.getType() == HivePrivilegeObjectType.LOCAL_URI;
    }

    /** Hive marks what a query does to a table it writes; each of these changes its data. */
    private static int writeOf(HivePrivObjectActionType type) {
        if (type == null) {
            return 0;
        }
        switch (type) {
            case INSERT:
            case INSERT_OVERWRITE:
            case UPDATE:
            case DELETE:
                return Action.WRITE;
            default:
                return 0;
        }
    }
}

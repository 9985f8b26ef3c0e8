package org.jitgate;

/**
 * Action bits of a decision; a decision may ask for several, and each must be covered by a grant.
 */
public final class Action {
    /** Read data or list it. */
    public static final int READ = 1;
    /** Change the resource's data. */
    public static final int WRITE = 2;
    /** Copy data out of the protected zone. */
    public static final int EXPORT = 4;
    /** Change structure or derive new data in the zone (DDL, CTAS, rename). */
    public static final int TRANSFORM = 8;
    /**
     * Not an action: the call changes the entry at the resource itself (delete, rename), so every
     * zone below the resource must be covered too.
     */
    public static final int SUBTREE = 0x100;

    private Action() {
    }
}

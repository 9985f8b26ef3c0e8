package org.jitgate.spark;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.NoSuchDatabaseException;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.CatalogTablePartition;
import org.apache.spark.sql.catalyst.catalog.SessionCatalog;
import scala.Option;

/**
 * The session catalog's answers about the tables a command names: their storage and their
 * partitions' locations. A table or partition that does not exist has none; any other failure to
 * read the metastore fails the check.
 */
final class SessionTables implements PlanAccesses.Catalog {
    private final SparkSession session;

    SessionTables(SparkSession session) {
        this.session = session;
    }

    private SessionCatalog catalog() {
        return session.sessionState().catalog();
    }

    @Override
    public CatalogTable table(TableIdentifier id) {
        try {
            return catalog().getTableMetadata(id); // one metastore call; a missing table throws
        } catch (NoSuchTableException | NoSuchDatabaseException gone) {
            return null;
        }
    }

    @Override
    public List<URI> partitions(TableIdentifier id, scala.collection.immutable.Map<String, String> spec) {
        List<URI> out = new ArrayList<>();
        CatalogTable table = table(id);
        if (table == null || table.partitionColumnNames().isEmpty()) {
            return out;
        }
        scala.collection.Iterator<CatalogTablePartition> it =
                catalog().listPartitions(id, Option.apply(spec)).iterator();
        while (it.hasNext()) {
            Option<URI> location = it.next().storage().locationUri();
            if (location.isDefined()) {
                out.add(location.get());
            }
        }
        return out;
    }

    @Override
    public URI defaultLocation(TableIdentifier id) {
        return catalog().defaultTablePath(id);
    }
}

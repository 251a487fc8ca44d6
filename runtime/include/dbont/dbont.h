/* dbont/dbont.h: everything libdbont offers, one include. */
#ifndef DBONT_DBONT_H
#define DBONT_DBONT_H

#include "dbont/cache.h"
#include "dbont/conn.h"
#include "dbont/copy.h"
#include "dbont/error.h"
#include "dbont/fanout.h"
#include "dbont/filter.h"
#include "dbont/migrate.h"
#include "dbont/partitions.h"
#include "dbont/pool.h"
#include "dbont/query.h"
#include "dbont/reshard.h"
#include "dbont/result.h"
#include "dbont/shard.h"
#include "dbont/sharded.h"
#include "dbont/shardset.h"
#include "dbont/stmt.h"
#include "dbont/table.h"
#include "dbont/tenant.h"
#include "dbont/types.h"

#define DBONT_VERSION "0.1.0"

#endif

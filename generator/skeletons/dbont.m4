m4_divert(-1)
# dbont.m4: the entry skeleton.  dbont-gen runs
#     m4 -P -I <skeleton dir> <definitions> dbont.m4
# after its definitions have set « and » as the quotes and turned comments
# off.  Each included skeleton starts its file with an "@output NAME@" line.
#
# To change the shape of the generated code, copy this folder, edit the
# copies and pass the folder to dbont-gen with --skeleton-dir.  The macros
# each skeleton must define, and the arguments dbont-gen passes to them,
# are listed at the top of each file; docs/skeletons.md explains the rules
# (values arrive quoted and escaped; write @a for a literal @).
m4_divert(0)m4_dnl
m4_include(«c-header.m4»)m4_dnl
m4_include(«c-source.m4»)m4_dnl
m4_include(«migration.m4»)m4_dnl

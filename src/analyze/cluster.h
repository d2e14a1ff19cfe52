/*
 * cluster.h: average-linkage agglomerative clustering over a similarity
 * matrix (people: face tracks; storylines: scenes).
 *
 * Ownership: arguments are borrowed; `sim` is not modified.
 */
#ifndef VD_ANALYZE_CLUSTER_H
#define VD_ANALYZE_CLUSTER_H

/*
 * Clusters n items from their pairwise similarities: sim is n*n, row-major,
 * symmetric, higher = more alike (the diagonal is ignored). k >= 1: merge
 * the most similar pair of clusters until k remain (k above n gives n).
 * k == 0: merge while the most similar pair's average similarity is at
 * least `threshold`. Average linkage does not chain two groups through
 * one ambiguous member. label[i] receives the cluster of item i, clusters
 * numbered 0.. in the order of their first item. Returns the number of
 * clusters (0 when n <= 0).
 */
int vd_cluster_avg_sim(const double *sim, int n, int k, double threshold, int *label);

#endif

# Reference values for modification indices, score tests and the stepwise partial-invariance
# search of empathy_metrics (issue 13, item 4). Run from the repository root:
#   Rscript tests/reference/cfa_modindices.R
# Writes tests/reference/cfa_modindices.json.
source("tests/reference/sem_common.R")

hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
pd <- read.csv("tests/reference/data/PoliticalDemocracy.csv")
bfi <- read.csv("tests/reference/data/bfi.csv")
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
pd_model <- "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\ny1 ~~ y5"
bfi_ac_model <- "A =~ A1 + A2 + A3 + A4 + A5\nC =~ C1 + C2 + C3 + C4 + C5"

mi_ref <- function(fit) {
  mi <- modindices(fit)
  labels <- lavInspect(fit, "group.label")
  grp <- if (length(labels) == 0 || is.null(mi$group)) rep("", nrow(mi)) else labels[mi$group]
  list(lhs = mi$lhs, op = mi$op, rhs = mi$rhs, group = grp, mi = mi$mi, epc = mi$epc,
       sepc_all = mi$sepc.all)
}

# Univariate score tests (lavTestScore) of the equality constraints of one kind ("=~" or
# "~1"), named as lavaan's group.partial entries, with the group whose copy is released.
score_ref <- function(fit, op) {
  sc <- lavTestScore(fit)$uni
  pt <- parTable(fit)
  labels <- lavInspect(fit, "group.label")
  row <- match(sc$rhs, pt$plabel)
  name <- paste0(pt$lhs[row], pt$op[row], pt$rhs[row])
  keep <- pt$op[row] == op
  list(name = name[keep], group = labels[pt$group[row]][keep], X2 = sc$X2[keep])
}

# The documented stepwise search (empathy_metrics.invariance): free, in all groups, the
# constrained parameter whose largest univariate score test is largest; stop when the model
# meets the ΔCFI criterion against the base model, when the largest test has p >= .05, or
# when freeing would leave a factor with fewer than two constrained indicators.
stepwise <- function(model, data, group, equal, base, op, factors, cutoff = 0.01) {
  labels <- sort(unique(as.character(data[[group]])))
  data[[group]] <- as.character(data[[group]])
  partial <- character(0)
  steps <- list()
  repeat {
    fit <- cfa(model, data = data, group = group, group.label = labels, group.equal = equal,
               group.partial = partial)
    dcfi <- unname(fitMeasures(fit, "cfi") - fitMeasures(base, "cfi"))
    if (dcfi >= -cutoff) { stop_reason <- "criterion met"; break }
    sc <- score_ref(fit, op)
    best <- tapply(sc$X2, sc$name, max)
    best <- best[order(-best)]
    pick <- names(best)[1]
    if (1 - pchisq(best[[1]], 1) >= 0.05) { stop_reason <- "no significant test"; break }
    item <- if (op == "~1") sub("~1$", "", pick) else sub("^.*=~", "", pick)
    fac <- names(factors)[sapply(factors, function(v) item %in% v)][1]
    left <- setdiff(factors[[fac]], c(item, sub("~1$", "", partial), sub("^.*=~", "", partial)))
    if (length(left) < 2) { stop_reason <- "too few invariant items"; break }
    steps[[length(steps) + 1]] <- list(freed = pick, X2 = best[[1]], tests = sc, delta_cfi = dcfi)
    partial <- c(partial, pick)
  }
  list(partial = I(partial), steps = steps, stop = stop_reason, final = fit_ref(fit),
       final_delta_cfi = dcfi, params = params_ref(fit))
}

hs$school <- as.character(hs$school)
hs_labels <- c("Grant-White", "Pasteur")
hs_factors <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
                   speed = c("x7", "x8", "x9"))
hs_metric <- cfa(hs_model, data = hs, group = "school", group.label = hs_labels,
                 group.equal = "loadings")
hs_scalar <- cfa(hs_model, data = hs, group = "school", group.label = hs_labels,
                 group.equal = c("loadings", "intercepts"))
bfi$gender <- as.character(bfi$gender)
bfi_config <- cfa(bfi_ac_model, data = bfi, group = "gender", group.label = c("1", "2"))
bfi_metric <- cfa(bfi_ac_model, data = bfi, group = "gender", group.label = c("1", "2"),
                  group.equal = "loadings")
bfi_factors <- list(A = paste0("A", 1:5), C = paste0("C", 1:5))

out <- list(
  mi_hs = c(list(model = hs_model), mi_ref(cfa(hs_model, data = hs))),
  mi_pd = c(list(model = pd_model), mi_ref(cfa(pd_model, data = pd))),
  mi_hs_metric = c(list(model = hs_model), mi_ref(hs_metric)),
  score_hs_scalar = c(list(model = hs_model), score_ref(hs_scalar, "~1")),
  score_hs_metric = c(list(model = hs_model), score_ref(hs_metric, "=~")),
  partial_hs_scalar = c(list(model = hs_model, group = "school"),
                        stepwise(hs_model, hs, "school", c("loadings", "intercepts"),
                                 hs_metric, "~1", hs_factors)),
  partial_bfi_metric = c(list(model = bfi_ac_model, group = "gender"),
                         stepwise(bfi_ac_model, bfi, "gender", "loadings", bfi_config, "=~",
                                  bfi_factors, cutoff = 0.0003)),
  partial_bfi_scalar = c(list(model = bfi_ac_model, group = "gender"),
                         stepwise(bfi_ac_model, bfi, "gender", c("loadings", "intercepts"),
                                  bfi_metric, "~1", bfi_factors, cutoff = 0.002))
)
write_ref(out, "tests/reference/cfa_modindices.json")

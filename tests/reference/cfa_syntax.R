# Reference values for the lavaan model-syntax subset of empathy_metrics.cfa (issue 13, item
# "model syntax"): std.lv identification, fixed values, free markers, equality labels,
# residual and fixed factor covariances. Run from the repository root:
#   Rscript tests/reference/cfa_syntax.R
# Writes tests/reference/cfa_syntax.json and exports lavaan's PoliticalDemocracy data set to
# tests/reference/data/PoliticalDemocracy.csv.
source("tests/reference/sem_common.R")

hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
write.csv(PoliticalDemocracy, "tests/reference/data/PoliticalDemocracy.csv", row.names = FALSE)
pd <- read.csv("tests/reference/data/PoliticalDemocracy.csv")

hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
models <- list(
  # free marker and fixed variance, a fixed non-marker loading, orthogonal factors
  hs_fixed = "visual =~ NA*x1 + x2 + x3\nvisual ~~ 1*visual\ntextual =~ x4 + x5 + 1*x6\nspeed =~ x7 + x8 + x9\nvisual ~~ 0*speed",
  # equality labels on loadings and on two residual variances
  hs_labels = "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nx4 ~~ v*x4\nx5 ~~ v*x5",
  # a fixed residual variance and a fixed residual covariance
  hs_fixed_resid = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nx9 ~~ 0.5*x9\nx7 ~~ 0.1*x8"
)
# the classic PoliticalDemocracy measurement model (lavaan tutorial, without the regressions):
# equal loadings over time by labels, residual covariances between repeated indicators
pd_model <- "
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + a*y2 + b*y3 + c*y4
  dem65 =~ y5 + a*y6 + b*y7 + c*y8
  y1 ~~ y5
  y2 ~~ y4 + y6
  y3 ~~ y7
  y4 ~~ y8
  y6 ~~ y8
"
out <- list(
  hs_std_lv = ref(cfa(hs_model, data = hs, std.lv = TRUE), hs_model),
  hs_fixed = ref(cfa(models$hs_fixed, data = hs), models$hs_fixed),
  hs_labels = ref(cfa(models$hs_labels, data = hs), models$hs_labels),
  hs_fixed_resid = ref(cfa(models$hs_fixed_resid, data = hs), models$hs_fixed_resid),
  pd = ref(cfa(pd_model, data = pd), pd_model),
  pd_std_lv = ref(cfa(pd_model, data = pd, std.lv = TRUE), pd_model),
  # a label holds a loading equal across the two schools as well
  hs_group_label = ref(cfa(models$hs_labels, data = hs, group = "school",
                           group.label = c("Grant-White", "Pasteur")),
                       models$hs_labels, group = "school")
)
write_ref(out, "tests/reference/cfa_syntax.json")

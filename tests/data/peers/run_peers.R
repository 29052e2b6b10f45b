## R's side of the peer comparison (simstudy/peers.py): every case's data as
## <case>.csv and flexmix's and mixtools' fits as <case>.json, in this folder.
##
##   Rscript tests/data/peers/run_peers.R [CASE ...]
##
## from the repository root; no CASE runs them all. See README.md here.

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "peers_lib.R"))
repo <- normalizePath(file.path(here, "..", "..", ".."))

cases <- list()

cases$npreg <- function() {
  data("NPreg", package = "flexmix", envir = environment())
  d <- NPreg[, c("x", "yn", "class", "id1", "id2")]
  d$id1 <- as.integer(d$id1); d$id2 <- as.integer(d$id2)
  d <- as_written(d)
  fits <- lapply(1:3, function(k) fit_flexmix(d, "yn ~ x + I(x^2)", k, "segment", seed = 100 * k))
  fits[[4]] <- fit_regmix(d$yn, cbind(d$x, d$x^2), 2, seed = 400)
  write_case(here, "npreg", d, fits, list(
    title = "flexmix's NPreg, ungrouped",
    source = "flexmix example data NPreg: yn ~ x + I(x^2), 200 observations, 2 true classes",
    formula_r = "yn ~ x + I(x^2)", formula = "yn ~ x + I(x**2)", group = NULL))
}

cases$npreg_grouped <- function() {
  data("NPreg", package = "flexmix", envir = environment())
  d <- NPreg[, c("x", "yn", "class", "id1")]
  d$id1 <- as.integer(d$id1)
  d <- as_written(d)
  fits <- list(fit_flexmix(d, "yn ~ x + I(x^2)", 2, "segment", group = "id1", seed = 500))
  write_case(here, "npreg_grouped", d, fits, list(
    title = "flexmix's NPreg, grouped by id1 (2 observations per unit, 3 coefficients)",
    source = "flexmix example data NPreg with its grouping id1 (class constant within it)",
    formula_r = "yn ~ x + I(x^2) | id1", formula = "yn ~ x + I(x**2)", group = "id1"))
}

cases$nregfix <- function() {
  data("NregFix", package = "flexmix", envir = environment())
  d <- data.frame(y = as.numeric(NregFix$y), x1 = NregFix$x1,
                  x2 = as.numeric(as.character(NregFix$x2)),
                  w = as.numeric(as.character(NregFix$w)), class = NregFix$class)
  d <- as_written(d)
  fits <- list(
    fit_flexmix(d, "y ~ x1 + x2", 3, "common", seed = 600),
    fit_flexmix(d, "y ~ x1 + x2", 3, "common", concomitant = "~ w", seed = 700))
  write_case(here, "nregfix", d, fits, list(
    title = "flexmix's NregFix, sigma common, with and without the concomitant w",
    source = "flexmix example data NregFix (its help page fits the prior on ~ w)",
    formula_r = "y ~ x1 + x2", formula = "y ~ x1 + x2", group = NULL,
    concomitant_r = "~ w"))
}

cases$tonedata <- function() {
  data("tonedata", package = "mixtools", envir = environment())
  d <- tonedata
  d <- as_written(d)
  fits <- list(fit_regmix(d$tuned, d$stretchratio, 2, seed = 800),
               fit_regmix(d$tuned, d$stretchratio, 3, seed = 900),
               fit_flexmix(d, "tuned ~ stretchratio", 2, "segment", seed = 1000),
               fit_flexmix(d, "tuned ~ stretchratio", 3, "segment", seed = 1100))
  write_case(here, "tonedata", d, fits, list(
    title = "mixtools' tonedata", source = "mixtools example data tonedata (Cohen 1980)",
    formula_r = "tuned ~ stretchratio", formula = "tuned ~ stretchratio", group = NULL))
}

cases$co2 <- function() {
  data("CO2data", package = "mixtools", envir = environment())
  d <- data.frame(country = as.character(CO2data$country), GNP = CO2data$GNP, CO2 = CO2data$CO2)
  d <- as_written(d)
  fits <- list(fit_regmix(d$CO2, d$GNP, 2, seed = 1200),
               fit_flexmix(d, "CO2 ~ GNP", 2, "segment", seed = 1300))
  write_case(here, "co2", d, fits, list(
    title = "mixtools' CO2data", source = "mixtools example data CO2data (28 countries)",
    formula_r = "CO2 ~ GNP", formula = "CO2 ~ GNP", group = NULL))
}

## Panels generated here; each records its truth (component 1 the reference of gamma).
cases$gen_grouped <- function() {
  set.seed(20240601)
  n_units <- 150; n_per <- 8
  truth <- list(theta = list(c(2, 0.5), c(4, 0), c(1, 1)), sigma = c(0.6, 1, 1.5),
                prior = c(0.3, 0.45, 0.25))
  cls <- sample(1:3, n_units, replace = TRUE, prob = truth$prior)
  id <- rep(seq_len(n_units), each = n_per)
  x <- runif(n_units * n_per, 0, 6)
  b <- do.call(rbind, truth$theta)[cls[id], ]
  y <- b[, 1] + b[, 2] * x + rnorm(length(x), sd = truth$sigma[cls[id]])
  d <- data.frame(id = id, x = x, y = y, class = cls[id])
  d <- as_written(d)
  fits <- list(fit_flexmix(d, "y ~ x", 3, "segment", group = "id", seed = 1400))
  write_case(here, "gen_grouped", d, fits, list(
    title = "generated in R: grouped, 150 units of 8, K = 3",
    source = "run_peers.R, set.seed(20240601)", truth = truth,
    formula_r = "y ~ x | id", formula = "y ~ x", group = "id"))
}

cases$gen_concomitant <- function() {
  set.seed(20240602)
  n <- 500
  truth <- list(theta = list(c(0, 1.5), c(1.5, -1)), sigma = c(0.5, 0.8),
                gamma = list(c(0, 0), c(-0.5, 1.5)))
  z <- rnorm(n)
  p2 <- plogis(-0.5 + 1.5 * z)
  cls <- 1 + (runif(n) < p2)
  x <- runif(n, -2, 2)
  b <- do.call(rbind, truth$theta)[cls, ]
  y <- b[, 1] + b[, 2] * x + rnorm(n, sd = truth$sigma[cls])
  d <- data.frame(x = x, z = z, y = y, class = cls)
  d <- as_written(d)
  fits <- list(fit_flexmix(d, "y ~ x", 2, "segment", concomitant = "~ z", seed = 1500),
               fit_flexmix(d, "y ~ x", 2, "segment", seed = 1600))
  write_case(here, "gen_concomitant", d, fits, list(
    title = "generated in R: ungrouped, n = 500, K = 2, prior on ~ z",
    source = "run_peers.R, set.seed(20240602)", truth = truth,
    formula_r = "y ~ x", formula = "y ~ x", group = NULL, concomitant_r = "~ z"))
}

cases$gen_grouped_concomitant <- function() {
  set.seed(20240603)
  n_units <- 200; n_per <- 6
  truth <- list(theta = list(c(0, 1), c(2, 0), c(1, -1)), sigma = c(0.7, 0.7, 1),
                gamma = list(c(0, 0), c(0.3, 1), c(-0.5, -1.2)))
  zu <- rnorm(n_units)
  eta <- cbind(0, 0.3 + zu, -0.5 - 1.2 * zu)
  pr <- exp(eta) / rowSums(exp(eta))
  cls <- apply(pr, 1, function(p) sample(1:3, 1, prob = p))
  id <- rep(seq_len(n_units), each = n_per)
  x <- runif(n_units * n_per, -2, 2)
  b <- do.call(rbind, truth$theta)[cls[id], ]
  y <- b[, 1] + b[, 2] * x + rnorm(length(x), sd = truth$sigma[cls[id]])
  d <- data.frame(id = id, x = x, z = zu[id], y = y, class = cls[id])
  d <- as_written(d)
  fits <- list(
    fit_flexmix(d, "y ~ x", 3, "segment", group = "id", concomitant = "~ z", seed = 1700),
    fit_flexmix(d, "y ~ x", 3, "segment", group = "id", seed = 1800))
  write_case(here, "gen_grouped_concomitant", d, fits, list(
    title = "generated in R: grouped, 200 units of 6, K = 3, prior on the unit's z",
    source = "run_peers.R, set.seed(20240603)", truth = truth,
    formula_r = "y ~ x | id", formula = "y ~ x", group = "id", concomitant_r = "~ z"))
}

cases$real <- function() {
  w <- read.csv(file.path(repo, "data", "609948.csv"))
  n_stores <- ncol(w) - 1; n_weeks <- nrow(w)
  d <- data.frame(store = rep(seq_len(n_stores), each = n_weeks),
                  week = rep(seq_len(n_weeks), n_stores),
                  price = rep(w$Price, n_stores), sales = unlist(w[, -1], use.names = FALSE))
  d <- as_written(d)
  fits <- list(fit_flexmix(d, "log(sales) ~ log(price)", 3, "common", group = "store", seed = 1900),
               fit_flexmix(d, "log(sales) ~ log(price)", 3, "segment", group = "store", seed = 2000))
  write_case(here, "real", d, fits, list(
    title = "the real panel 609948.csv, log sales on log price by store, K = 3",
    source = "data/609948.csv, long: store = column SalesN, week = row",
    formula_r = "log(sales) ~ log(price) | store", formula = "np.log(sales) ~ np.log(price)",
    group = "store"), data_file = "../../../data/609948.csv")
}

wanted <- commandArgs(trailingOnly = TRUE)
if (length(wanted) == 0) wanted <- names(cases)
unknown <- setdiff(wanted, names(cases))
if (length(unknown)) stop("unknown case(s): ", paste(unknown, collapse = ", "),
                          "; known: ", paste(names(cases), collapse = ", "))
for (case in wanted) cases[[case]]()

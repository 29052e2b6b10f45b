## Helpers of run_peers.R: fit a case with flexmix and mixtools and record what
## they report, in the layout simstudy/peers.py reads (see README.md here).

suppressPackageStartupMessages({
  library(flexmix)
  library(mixtools)
  library(jsonlite)
})

FLEX_CONTROL <- list(iter.max = 5000, tolerance = 1e-10)
## flexmix's defaults otherwise (minprior = 0.05: a component whose prior falls
## below it is removed during EM); a tight tolerance so that R's reported
## maximum is not held back by its stopping rule.

software <- function() {
  list(R = paste(R.version$major, R.version$minor, sep = "."),
       flexmix = as.character(packageVersion("flexmix")),
       mixtools = as.character(packageVersion("mixtools")),
       jsonlite = as.character(packageVersion("jsonlite")))
}

## The data as the CSV holds them (15 significant digits), so that R fits
## exactly what Python reads.
as_written <- function(d) {
  f <- tempfile(fileext = ".csv")
  on.exit(unlink(f))
  write.csv(d, f, row.names = FALSE)
  read.csv(f)
}

rows_of <- function(m) lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))

flex_model <- function(sigma) {
  if (sigma == "segment") FLXMRglm() else FLXMRglmfix(varFix = TRUE)
}

## flexmix's Gaussian M-step divides the weighted residual sum of squares by
## (n - p) * mean(weights) (FLXMRglm: one component's n rows and p coefficients)
## or, with varFix = TRUE (FLXMRglmfix), by K n - p over the K stacked copies
## of the data; the maximum-likelihood value divides by the component's weight
## (sum over all rows and components: n). The factor below turns flexmix's
## sigma into the ML form at the same posteriors.
ml_sigma_factor <- function(sigma, n, p, k) {
  if (sigma == "segment") sqrt((n - p) / n) else sqrt((n - p / k) / n)
}

## flexmix's refit() re-maximises the likelihood by optim and returns the
## estimates and the inverse Hessian. Its parameter vector is, for FLXMRglm,
## K blocks (coefficients, log(sigma)); for FLXMRglmfix(varFix = TRUE), K blocks
## of coefficients then one log(sigma); then the prior's K - 1 blocks of
## multinomial-logit coefficients (component 1 the reference; "alpha" when the
## prior is constant).
refit_record <- function(m, sigma, p, k, q) {
  secs <- system.time(r <- tryCatch(refit(m), error = function(e) e))[["elapsed"]]
  if (inherits(r, "error")) return(list(error = conditionMessage(r), seconds = secs))
  est <- r@coef
  se <- sqrt(diag(r@vcov))
  nm <- names(est)
  if (sigma == "segment") {
    block <- matrix(seq_len(k * (p + 1)), nrow = p + 1)
    theta_at <- block[seq_len(p), , drop = FALSE]
    sigma_at <- block[p + 1, ]
  } else {
    theta_at <- matrix(seq_len(k * p), nrow = p)
    sigma_at <- k * p + 1
  }
  stopifnot(all(grepl("log\\(sigma\\)$", nm[sigma_at])),
            !any(grepl("sigma|concomitant", nm[theta_at])))
  gamma_at <- max(sigma_at) + seq_len((k - 1) * q)
  stopifnot(length(nm) == max(c(sigma_at, gamma_at)), all(grepl("^concomitant_", nm[gamma_at])))
  gamma_at <- matrix(gamma_at, nrow = q)
  list(
    names = unname(nm), estimate = unname(est), se = unname(se),
    theta = rows_of(t(matrix(est[theta_at], nrow = p))),
    theta_se = rows_of(t(matrix(se[theta_at], nrow = p))),
    log_sigma = unname(est[sigma_at]), log_sigma_se = unname(se[sigma_at]),
    gamma = if (k > 1) rows_of(t(matrix(est[gamma_at], nrow = q))) else list(),
    gamma_se = if (k > 1) rows_of(t(matrix(se[gamma_at], nrow = q))) else list(),
    seconds = secs
  )
}

## One flexmix model from `nrep` random starts (seeds seed + 1 .. seed + nrep),
## the best kept: what stepFlexmix(nrep = ) does, with every start's log L kept.
fit_flexmix <- function(data, formula, k, sigma, group = NULL, concomitant = NULL,
                        nrep = 50, seed = 1) {
  f <- as.formula(if (is.null(group)) formula else paste(formula, "|", group))
  conc <- if (is.null(concomitant)) NULL else FLXPmultinom(as.formula(concomitant))
  runs <- vector("list", nrep)
  secs <- system.time(for (r in seq_len(nrep)) {
    set.seed(seed + r)
    runs[[r]] <- tryCatch(
      if (is.null(conc)) {
        flexmix(f, data = data, k = k, model = flex_model(sigma), control = FLEX_CONTROL)
      } else {
        flexmix(f, data = data, k = k, model = flex_model(sigma), concomitant = conc,
                control = FLEX_CONTROL)
      },
      error = function(e) NULL)
  })[["elapsed"]]
  lls <- sapply(runs, function(m) if (is.null(m)) NA_real_ else as.numeric(logLik(m)))
  ks <- sapply(runs, function(m) if (is.null(m)) NA_integer_ else m@k)
  best <- which.max(lls)
  m <- runs[[best]]
  par <- parameters(m)
  coef_rows <- grep("^coef\\.", rownames(par))
  p <- length(coef_rows)
  n <- nrow(data)
  found <- m@k
  s <- unname(par["sigma", ])
  fit <- list(
    package = "flexmix", K = k, K_found = found, sigma_mode = sigma,
    concomitant = concomitant, model = if (sigma == "segment") "FLXMRglm()" else
      "FLXMRglmfix(varFix = TRUE)",
    control = FLEX_CONTROL, nrep = nrep, seeds = c(seed + 1, seed + nrep),
    seconds = secs, loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"),
    iterations = m@iter, converged = m@converged,
    start_logliks = unname(lls), start_K_found = unname(ks),
    coef_names = sub("^coef\\.", "", rownames(par)[coef_rows]),
    theta = rows_of(t(par[coef_rows, , drop = FALSE])),
    sigma = s, n = n, p = p,
    sigma_ml = s * ml_sigma_factor(sigma, n, p, found),
    prior = unname(prior(m)), cluster_sizes = unname(as.vector(table(factor(clusters(m), levels = seq_len(found)))))
  )
  q <- 1
  if (!is.null(concomitant)) {
    g <- parameters(m, which = "concomitant")
    fit$gamma_names <- rownames(g)
    fit$gamma <- rows_of(t(g))
    q <- nrow(g)
  }
  fit$refit <- refit_record(m, sigma, p, found, q)
  fit
}

## mixtools' regmixEM (sigma per component, ML M-step) from `starts` random
## starts (seeds seed + 1 ..), its own defaults otherwise; the best kept.
fit_regmix <- function(y, x, k, starts = 50, seed = 1) {
  runs <- vector("list", starts)
  secs <- system.time(for (r in seq_len(starts)) {
    set.seed(seed + r)
    runs[[r]] <- tryCatch(
      { capture.output(out <- regmixEM(y, x, k = k)); out },
      error = function(e) NULL)
  })[["elapsed"]]
  lls <- sapply(runs, function(m) if (is.null(m)) NA_real_ else m$loglik)
  best <- which.max(lls)
  m <- runs[[best]]
  list(
    package = "mixtools", "function" = "regmixEM", K = k, K_found = k, sigma_mode = "segment",
    starts = starts, seeds = c(seed + 1, seed + starts), failed_starts = sum(is.na(lls)),
    seconds = secs, loglik = m$loglik, iterations = length(m$all.loglik) - 1,
    start_logliks = unname(lls),
    theta = rows_of(t(m$beta)), sigma = unname(m$sigma), sigma_ml = unname(m$sigma),
    prior = unname(m$lambda), restarts = m$restarts
  )
}

## <case>.csv (unless the data are a file of the repository already) and
## <case>.json with R's results.
write_case <- function(dir, case, data, fits, extra = list(), data_file = NULL) {
  if (is.null(data_file)) {
    data_file <- paste0(case, ".csv")
    write.csv(data, file.path(dir, data_file), row.names = FALSE)
  }
  out <- c(list(case = case, data_file = data_file, n_obs = nrow(data)), extra,
           list(software = software(), fits = fits))
  write_json(out, file.path(dir, paste0(case, ".json")), auto_unbox = TRUE,
             digits = I(17), pretty = TRUE, null = "null", na = "null")
  cat(sprintf("%s: %d fits written\n", case, length(fits)))
}

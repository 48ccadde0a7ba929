"""The risk model: calibrated 7-day probabilities of leak-related 311 activity per H3 cell.

Modules, in the order the pipeline uses them (their settings are `chicago_risk.config.model`):
  (partitions: `chicago_risk.partitions.model_partitions`, one per weekly training cutoff)
  windows      which labelled days a model of cutoff C may use; the calibration slice
  data         reading the feature store from the warehouse
  baselines    climatology, persistence, seed_logistic
  etas         the self-exciting (ETAS-style) baseline, fitted by EM
  gbm          LightGBM
  calibration  isotonic / Platt maps, expected events, confidence
  model        FittedModel: one interface for every kind (fit, predict, registry record)
  registry     the `model_registry` table
  metrics      AUROC, PR-AUC, Brier, BSS, log loss, ECE, calibration slope, precision/capture
  backtest     rolling-origin monthly folds
  drivers      TreeSHAP top contributions with plain-words labels
  shadow       the challenger and the champion scored on the same labelled days
  promotion    the rule that promotes a challenger (or keeps it out)
  champion     each week's champion and challenger (`model_champion`); aliases: their log; pin: an operator's override
  predict      `risk_predictions` rows
  plots, card  figures and the model card
  explanations the card's SHAP figures, from the served model's exact contributions
  assets       the Dagster assets (champion_asset: `model_champion`); automation: the weekly job, schedule and
               drift sensor
"""

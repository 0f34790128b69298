"""Plotly in French, offline: plotly.js ships its locales separately, so the dashboard registers
this one itself (toolbar tooltips, month names, decimal comma), and shows only one tool: download
the chart as a PNG (no link to any outside chart-sharing service)."""

from __future__ import annotations

import json

DICTIONARY = {
    "Download plot as a PNG": "Télécharger le graphique en PNG",
    "Download plot as a png": "Télécharger le graphique en PNG",
    "Download plot": "Télécharger le graphique",
    "Autoscale": "Échelle automatique",
    "Reset axes": "Réinitialiser les axes",
    "Zoom in": "Zoom avant",
    "Zoom out": "Zoom arrière",
    "Zoom": "Zoom",
    "Pan": "Déplacer",
    "Box Select": "Sélection rectangulaire",
    "Lasso Select": "Sélection au lasso",
    "Reset view": "Réinitialiser la vue",
    "Toggle Spike Lines": "Afficher ou masquer les repères",
    "Show closest data on hover": "Valeur la plus proche au survol",
    "Compare data on hover": "Comparer au survol",
    "Double-click to zoom back out": "Double-cliquez pour revenir à la vue d'ensemble",
    "Produced with Plotly.js": "Réalisé avec Plotly.js",
    "Snapshot succeeded": "Image enregistrée",
    "Taking snapshot - this may take a few seconds": "Création de l'image, quelques secondes…",
    "Sorry, there was a problem downloading your snapshot!": "Désolé, l'image n'a pas pu être téléchargée.",
    "Click to enter Plot title": "Cliquez pour saisir le titre",
    "trace": "série",
}
FORMAT = {
    "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
    "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
               "novembre", "décembre"],
    "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "date": "%d/%m/%Y",
    "decimal": ",",
    "thousands": "\u202f",
}
LOCALE_JS = ("Plotly.register({moduleType: 'locale', name: 'fr', dictionary: "
             f"{json.dumps(DICTIONARY, ensure_ascii=False)}, format: {json.dumps(FORMAT, ensure_ascii=False)}}});")
CONFIG = {"displaylogo": False, "locale": "fr", "responsive": True, "modeBarButtons": [["toImage"]],
          "toImageButtonOptions": {"format": "png", "filename": "graphique_achats_ess", "scale": 2}}

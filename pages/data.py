"""Data: pick a built-in dataset or upload a CSV; see what the loader did with it."""

import dataclasses

import plotly.express as px
import streamlit as st

from core.data import DataError, read_table
from ui.forms import dataset_form
from ui.state import current_dataset, load_dataset, set_dataset

st.title("Data")
st.write("Every model on the other pages trains on the training split of this dataset and is "
         "measured on its held-out test split.")

spec = dataset_form(current_dataset())
if spec is None:
    st.stop()

try:
    frame, target, notes = read_table(spec)
    if spec.name == "csv":
        columns = list(frame.columns)
        chosen = st.selectbox("Target column (the class to predict)", columns,
                              index=columns.index(spec.target or columns[-1]))
        spec = dataclasses.replace(spec, target=chosen)
        target = chosen
    dataset = load_dataset(spec)
except DataError as exc:
    st.error(f"This data cannot be used: {exc}")
    st.stop()

set_dataset(spec)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Training rows", len(dataset.y_train))
c2.metric("Test rows", len(dataset.y_test))
c3.metric("Features (after encoding)", dataset.n_features)
c4.metric("Classes", dataset.n_classes)

st.subheader("What the loader did")
for line in (*notes, *dataset.decisions):
    st.markdown(f"- {line}")

left, right = st.columns([3, 2])
with left:
    st.subheader("First rows")
    st.dataframe(frame.head(20), hide_index=True)
with right:
    counts = frame[target].dropna().astype(str).value_counts().sort_index()
    fig = px.bar(x=counts.index, y=counts.values, labels={"x": target, "y": "rows"},
                 title=f"Class balance ({len(counts)} classes)")
    st.plotly_chart(fig, key="balance")

st.subheader("Feature summary (raw values, before scaling)")
st.dataframe(frame.drop(columns=target).describe(include="all").T, key="summary")
